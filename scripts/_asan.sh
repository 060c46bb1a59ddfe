# Sourced by scripts/test: the fixture cdylib built with AddressSanitizer
# (nightly -Zsanitizer=address) and the memory-heavy Python suites run against
# it (records too: tests/fixture-a and -b, which the cross-library record tests
# load beside it, are the uninstrumented release builds; their leaks count all
# the same), with gcc's ASan runtime preloaded into the interpreter. Any ASan report,
# in pytest or in a subprocess, and any leak of memory Rust allocated, fails it.
# Usage: asan_suite [pytest args...]   (needs $PY, from scripts/_venv.sh)

asan_suite() {
    local host target_dir so runtime missing reports file status=0 found=0
    host=$(rustc +nightly -vV | sed -n 's/^host: //p')
    target_dir="$PWD/target/asan"
    # An explicit --target keeps build scripts and proc-macros uninstrumented;
    # frame pointers and line tables give the reports whole, file:line stacks.
    RUSTFLAGS="-Zsanitizer=address -Cforce-frame-pointers=yes" CARGO_PROFILE_RELEASE_DEBUG=line-tables-only \
        cargo +nightly build --quiet --release -p pyo2-fixture --target "$host" --target-dir "$target_dir"
    so="$target_dir/$host/release/libpyo2_fixture.so"

    # rustc ships its ASan runtime only as a static library for executables; a
    # cdylib loaded by Python needs a shared one preloaded: gcc's libasan, whose
    # ABI (v8) nightly's LLVM instrumentation uses too. Check it has every
    # __asan_* symbol the library calls, so a future ABI change fails clearly.
    runtime=$(gcc -print-file-name=libasan.so)
    if [ ! -e "$runtime" ]; then
        echo "gcc's AddressSanitizer runtime (libasan.so) is missing: apt-get install libasan8" >&2
        return 1
    fi
    missing=$(comm -23 \
        <(nm -D --undefined-only "$so" | awk '$2 ~ /^__asan_/ {print $2}' | sort -u) \
        <(nm -D --defined-only "$runtime" | awk '$3 ~ /^__asan_/ {print $3}' | sort -u))
    if [ -n "$missing" ]; then
        echo "$runtime lacks symbols $so needs (nightly's ASan ABI moved on?):" $missing >&2
        return 1
    fi

    # Reports go to files, one per process, so none hides in a subprocess's
    # captured stderr. PYTHONMALLOC=malloc puts Python's own objects on ASan's
    # heap. A leak report doesn't change the exit status (CPython and numpy
    # leave some objects unfreed at exit): the reports are sorted out below.
    # An RSS test measures ASan's quarantine here, not leaks: it is left out.
    reports="$target_dir/reports"
    rm -rf "$reports" && mkdir -p "$reports"
    local modules=(tests/python/test_properties.py tests/python/test_roundtrip.py
        tests/python/test_errors.py tests/python/test_fast_path.py tests/python/test_export.py
        tests/python/test_asan.py tests/python/test_records.py tests/python/test_owned_types.py)
    [ -d tests/python/adversarial ] && modules=(tests/python/adversarial "${modules[@]}")
    LD_PRELOAD="$runtime" PYTHONMALLOC=malloc PYO2_FIXTURE="$so" PYO2_ASAN=1 HYPOTHESIS_PROFILE=fast \
        ASAN_OPTIONS="abort_on_error=1:detect_leaks=1:detect_stack_use_after_return=1:log_path=$reports/asan" \
        LSAN_OPTIONS="exitcode=0" \
        "$PY" -m pytest "${modules[@]}" -q -p no:cacheprovider \
        --deselect tests/python/test_records.py::test_memory_is_flat "$@" || status=$?

    # Every ASan error counts; of the leaks, those allocated by Rust code (a
    # frame in the library, or any .rs line: only the fixture has Rust in it).
    for file in "$reports"/asan.*; do
        [ -e "$file" ] || continue
        if ! grep -q "ERROR: LeakSanitizer" "$file"; then
            cat "$file" >&2
            found=1
        elif awk -v RS= '/leak of/ && /libpyo2_fixture|\.rs:[0-9]/ {print; print ""; hit = 1} END {exit !hit}' \
            "$file" >&2; then
            echo "(leaks of memory the Rust library allocated, from $file)" >&2
            found=1
        fi
    done
    if [ "$found" = 1 ]; then
        echo "AddressSanitizer reported the above (all reports are in $reports)" >&2
        return 1
    fi
    return "$status"
}
