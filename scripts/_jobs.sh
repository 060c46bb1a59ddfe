# Sourced by scripts/test: steps run side by side as background jobs, at most
# $PYO2_JOBS at a time (default: the number of CPUs, at least 2). Each job's
# output goes to target/test-logs/<name>.log and is printed whole, under a
# `==> name` header, when the job ends, so outputs never interleave. `finish`
# waits for every job, prints how long each step took, and fails, naming the
# failed jobs, if any failed. Exiting early (a failed step, Ctrl-C) ends the
# jobs still running.
# Usage: job NAME COMMAND [ARGS...]; step COMMAND [ARGS...] (in the foreground,
# timed); finish

JOBS_MAX=${PYO2_JOBS:-$(nproc 2>/dev/null || echo 2)}
[ "$JOBS_MAX" -ge 2 ] 2>/dev/null || JOBS_MAX=2
JOBS_LOGS="$PWD/target/test-logs"
rm -rf "$JOBS_LOGS" && mkdir -p "$JOBS_LOGS"
declare -A _job_name=() _job_start=()
_jobs_failed=()
_jobs_times=()
_jobs_t0=$SECONDS

_jobs_end_all() {
    local pid
    for pid in "${!_job_name[@]}"; do
        kill -TERM -- "-$pid" 2>/dev/null || true
    done
}
trap "_jobs_end_all 2>/dev/null" EXIT
trap 'exit 130' INT TERM

step() {
    local start=$SECONDS status=0
    printf '\n==> %s\n' "$*"
    "$@" || status=$?
    _jobs_times+=("$(printf '%4ds  %s' $((SECONDS - start)) "$*")")
    return "$status"
}

job() {
    local name=$1
    shift
    while [ "${#_job_name[@]}" -ge "$JOBS_MAX" ]; do
        _job_reap
    done
    set -m # the job in a process group of its own, so that it can be ended whole
    (
        trap 'times >"$JOBS_LOGS/$name.cpu"' EXIT
        "$@"
    ) </dev/null >"$JOBS_LOGS/$name.log" 2>&1 &
    set +m
    _job_name[$!]=$name
    _job_start[$!]=$SECONDS
}

# Waits for one job to end and prints its log.
_job_reap() {
    local pid status=0 name took
    wait -n -p pid || status=$?
    [ -n "${pid:-}" ] && [ -n "${_job_name[$pid]:-}" ] || return 0
    name=${_job_name[$pid]}
    took=$((SECONDS - ${_job_start[$pid]}))
    unset "_job_name[$pid]" "_job_start[$pid]"
    printf '\n==> %s (%ds, %s)\n' "$name" "$took" "$([ "$status" = 0 ] && echo ok || echo "FAILED, exit $status")"
    cat "$JOBS_LOGS/$name.log"
    _jobs_times+=("$(printf '%4ds  %s (CPU: %s)' "$took" "$name" "$(_job_cpu "$name")")")
    [ "$status" = 0 ] || _jobs_failed+=("$name")
}

# The CPU time (user + system) a job and its processes used, from `times`.
_job_cpu() {
    [ -s "$JOBS_LOGS/$1.cpu" ] || return 0
    tr -s ' ms\n' '   ' <"$JOBS_LOGS/$1.cpu" | awk '{ printf "%ds", $1*60 + $2 + $3*60 + $4 + $5*60 + $6 + $7*60 + $8 }'
}

finish() {
    while [ "${#_job_name[@]}" -gt 0 ]; do
        _job_reap
    done
    printf '\n==> time per step (%d jobs at a time; %ds in all)\n' "$JOBS_MAX" $((SECONDS - _jobs_t0))
    printf '%s\n' "${_jobs_times[@]}"
    if [ "${#_jobs_failed[@]}" -gt 0 ]; then
        printf '\nFAILED: %s (logs above and in %s)\n' "${_jobs_failed[*]}" "$JOBS_LOGS" >&2
        return 1
    fi
}
