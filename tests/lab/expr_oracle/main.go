// expr-oracle evaluates Argo Rollouts conditions with the real expr library, for the lab's
// differential test (tests/lab/test_expr_oracle.py, docs/decisions/0080-*).
//
// Input, one JSON object per line: {"condition": "...", "result": R} where R is null (a nil
// result), a string (a float64 scalar) or a list of strings (a []float64 vector, as the
// Prometheus provider passes it). Floats travel as strings so NaN and ±Inf survive JSON
// (strconv.ParseFloat reads "nan", "inf", "-inf" and Python's repr exactly).
// Output, one line per input: {"value": true|false} or {"error": "..."}.
//
// The environment is EvalCondition's in argo-rollouts utils/evaluate/evaluate.go: `result`
// plus asInt, asFloat, isNaN, isInf, isNil and default, compiled with expr.Env(env) and run;
// a compile error, a run-time error (a panic inside a helper included) and a non-bool output
// are all errors there, so they are here.
//
// Built offline in GOPATH mode against Debian's golang-github-antonmedv-expr-dev (expr v1.8.9);
// argo-rollouts uses github.com/expr-lang/expr v1.17, the same library renamed. The differences
// between the two that matter to the lab are in docs/lab.md.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"reflect"
	"strconv"

	"github.com/antonmedv/expr"
)

type request struct {
	Condition string          `json:"condition"`
	Result    json.RawMessage `json:"result"`
}

type response struct {
	Value *bool  `json:"value,omitempty"`
	Error string `json:"error,omitempty"`
}

func parseResult(raw json.RawMessage) (any, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var scalar string
	if err := json.Unmarshal(raw, &scalar); err == nil {
		return strconv.ParseFloat(scalar, 64)
	}
	var items []string
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, fmt.Errorf("result: expected null, a string or a list of strings: %w", err)
	}
	// The provider builds its slice with make(..., 0, n): never nil, even when empty.
	values := make([]float64, 0, len(items))
	for _, item := range items {
		f, err := strconv.ParseFloat(item, 64)
		if err != nil {
			return nil, err
		}
		values = append(values, f)
	}
	return values, nil
}

// evalCondition is argo-rollouts' EvalCondition (utils/evaluate/evaluate.go) on expr v1.8.9.
func evalCondition(resultValue any, condition string) (bool, error) {
	env := map[string]any{
		"result":  valueFromPointer(resultValue),
		"asInt":   asInt,
		"asFloat": asFloat,
		"isNaN":   math.IsNaN,
		"isInf":   isInf,
		"isNil":   isNilFunc(resultValue),
		"default": defaultFunc(resultValue),
	}
	program, err := expr.Compile(condition, expr.Env(env))
	if err != nil {
		return false, err
	}
	output, err := expr.Run(program, env)
	if err != nil {
		return false, err
	}
	switch val := output.(type) {
	case bool:
		return val, nil
	default:
		return false, fmt.Errorf("expected bool, but got %T", val)
	}
}

// The helpers below are copied from argo-rollouts utils/evaluate/evaluate.go.

func isInf(f float64) bool {
	return math.IsInf(f, 0)
}

func asInt(in any) int64 {
	switch i := in.(type) {
	case float64:
		return int64(i)
	case float32:
		return int64(i)
	case int64:
		return i
	case int32:
		return int64(i)
	case int16:
		return int64(i)
	case int8:
		return int64(i)
	case int:
		return int64(i)
	case uint64:
		return int64(i)
	case uint32:
		return int64(i)
	case uint16:
		return int64(i)
	case uint8:
		return int64(i)
	case uint:
		return int64(i)
	case string:
		inAsInt, err := strconv.ParseInt(i, 10, 64)
		if err == nil {
			return inAsInt
		}
		panic(err)
	}
	panic(fmt.Sprintf("asInt() not supported on %v %v", reflect.TypeOf(in), in))
}

func asFloat(in any) float64 {
	switch i := in.(type) {
	case float64:
		return i
	case float32:
		return float64(i)
	case int64:
		return float64(i)
	case int32:
		return float64(i)
	case int16:
		return float64(i)
	case int8:
		return float64(i)
	case int:
		return float64(i)
	case uint64:
		return float64(i)
	case uint32:
		return float64(i)
	case uint16:
		return float64(i)
	case uint8:
		return float64(i)
	case uint:
		return float64(i)
	case string:
		inAsFloat, err := strconv.ParseFloat(i, 64)
		if err == nil {
			return inAsFloat
		}
		panic(err)
	}
	panic(fmt.Sprintf("asFloat() not supported on %v %v", reflect.TypeOf(in), in))
}

func defaultFunc(resultValue any) func(any, any) any {
	return func(_ any, defaultValue any) any {
		if isNil(resultValue) {
			return defaultValue
		}
		return valueFromPointer(resultValue)
	}
}

func isNilFunc(resultValue any) func(any) bool {
	return func(_ any) bool {
		return isNil(resultValue)
	}
}

func isNil(in any) (out bool) {
	if in == nil {
		out = true
		return
	}
	switch reflect.TypeOf(in).Kind() {
	case reflect.Ptr, reflect.Map, reflect.Array, reflect.Chan, reflect.Slice:
		out = reflect.ValueOf(in).IsNil()
	}
	return
}

func valueFromPointer(in any) (out any) {
	if isNil(in) {
		return
	}
	if reflect.TypeOf(in).Kind() != reflect.Ptr {
		out = in
		return
	}
	out = reflect.ValueOf(in).Elem().Interface()
	return
}

func main() {
	scanner := bufio.NewScanner(os.Stdin)
	scanner.Buffer(make([]byte, 1<<20), 1<<20)
	out := bufio.NewWriter(os.Stdout)
	encoder := json.NewEncoder(out)
	for scanner.Scan() {
		var req request
		var resp response
		if err := json.Unmarshal(scanner.Bytes(), &req); err != nil {
			fmt.Fprintf(os.Stderr, "expr-oracle: bad input line: %v\n", err)
			os.Exit(2)
		}
		result, err := parseResult(req.Result)
		if err != nil {
			fmt.Fprintf(os.Stderr, "expr-oracle: %v\n", err)
			os.Exit(2)
		}
		value, err := evalCondition(result, req.Condition)
		if err != nil {
			resp.Error = err.Error()
		} else {
			resp.Value = &value
		}
		if err := encoder.Encode(resp); err != nil {
			fmt.Fprintf(os.Stderr, "expr-oracle: %v\n", err)
			os.Exit(2)
		}
		// One answer per line, flushed, so a caller may stream.
		if err := out.Flush(); err != nil {
			os.Exit(2)
		}
	}
	if err := scanner.Err(); err != nil {
		fmt.Fprintf(os.Stderr, "expr-oracle: %v\n", err)
		os.Exit(2)
	}
}
