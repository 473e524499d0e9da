"""The change freeze: Argo CD sync windows evaluated with Argo CD's own rules.

Pure core: `cron` (robfig/cron's grammar), `duration` (Go's ParseDuration), `syncwindows`
(Matches, active, CanSync, and when each window is active), `peaks` (the peak periods the
freeze must cover), `status` (frozen or not, current and next windows). The I/O edge is
`cluster` (render a cluster folder, find its AppProject and Applications).
"""
