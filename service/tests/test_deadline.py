from __future__ import annotations

import asyncio
import time

import pytest
from paystream_auth.deadline import within


def test_an_answer_before_the_deadline_is_returned_and_the_timer_disarmed() -> None:
    async def main() -> str:
        result = await within(0.05, asyncio.sleep(0.001, result="ok"))
        await asyncio.sleep(0.1)  # past the deadline: the task must not be cancelled now
        return result

    assert asyncio.run(main()) == "ok"


def test_no_answer_by_the_deadline_is_a_timeout_error_at_the_deadline() -> None:
    async def main() -> float:
        started = time.perf_counter()
        with pytest.raises(TimeoutError):
            await within(0.1, asyncio.get_running_loop().create_future())
        return time.perf_counter() - started

    assert 0.09 < asyncio.run(main()) < 0.5


def test_a_cancellation_from_outside_stays_a_cancellation() -> None:
    async def main() -> None:
        task = asyncio.create_task(within(5, asyncio.sleep(10)))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())


def test_an_exception_inside_passes_through() -> None:
    async def fail() -> None:
        raise KeyError("x")

    async def main() -> None:
        with pytest.raises(KeyError):
            await within(1, fail())

    asyncio.run(main())
