# Sourced by scripts/test: the fixture cdylib and the accelerator (pyo2._accel)
# built with AddressSanitizer (nightly -Zsanitizer=address), and the Python
# suites that reach their unsafe code run against them, accelerated (records
# too: tests/fixture-a and -b, which the cross-library record tests load
# beside it, are the uninstrumented release builds; their leaks count all the
# same), with gcc's ASan runtime preloaded into the interpreter. Any ASan
# report, in pytest or in a subprocess, and any leak of memory Rust
# allocated, fails it.
# Usage: asan_suite [pytest args...]   (needs $PY, from scripts/_venv.sh)

asan_suite() {
    local host target_dir so accel pkg runtime lib missing reports file found_accel status=0 found=0
    host=$(rustc +nightly -vV | sed -n 's/^host: //p')
    target_dir="$PWD/target/asan"
    # An explicit --target keeps build scripts and proc-macros uninstrumented;
    # frame pointers and line tables give the reports whole, file:line stacks.
    # The accelerator is built as setuptools-rust builds it (pyo2-py/setup.py):
    # release, abi3 (its Cargo.toml's features), pyo3/extension-module (no
    # libpython linked); PyO3's build script asks $PY for the Python.
    local build=(RUSTFLAGS="-Zsanitizer=address -Cforce-frame-pointers=yes" CARGO_PROFILE_RELEASE_DEBUG=line-tables-only)
    env "${build[@]}" cargo +nightly build --quiet --release -p pyo2-fixture --target "$host" --target-dir "$target_dir"
    env "${build[@]}" PYO3_PYTHON="$PY" \
        cargo +nightly build --quiet --release --manifest-path pyo2-py/rust/Cargo.toml \
        --features pyo3/extension-module --target "$host" --target-dir "$target_dir"
    so="$target_dir/$host/release/libpyo2_fixture.so"

    # The package as the run imports it: pyo2-py/src/pyo2 with the
    # instrumented accelerator in place of the dev install's release build.
    # PYTHONPATH puts it before the venv's editable install (a .pth path).
    pkg="$target_dir/pkg"
    rm -rf "$pkg" && mkdir -p "$pkg"
    cp -r pyo2-py/src/pyo2 "$pkg/"
    rm -rf "$pkg"/pyo2/_accel*.so "$pkg"/pyo2/__pycache__
    accel="$pkg/pyo2/_accel.abi3.so"
    cp "$target_dir/$host/release/lib_accel.so" "$accel"

    # rustc ships its ASan runtime only as a static library for executables; a
    # cdylib loaded by Python needs a shared one preloaded: gcc's libasan, whose
    # ABI (v8) nightly's LLVM instrumentation uses too. Check it has every
    # __asan_* symbol the libraries call, so a future ABI change fails clearly.
    runtime=$(gcc -print-file-name=libasan.so)
    if [ ! -e "$runtime" ]; then
        echo "gcc's AddressSanitizer runtime (libasan.so) is missing: apt-get install libasan8" >&2
        return 1
    fi
    for lib in "$so" "$accel"; do
        missing=$(comm -23 \
            <(nm -D --undefined-only "$lib" | awk '$2 ~ /^__asan_/ {print $2}' | sort -u) \
            <(nm -D --defined-only "$runtime" | awk '$3 ~ /^__asan_/ {print $3}' | sort -u))
        if [ -n "$missing" ]; then
            echo "$runtime lacks symbols $lib needs (nightly's ASan ABI moved on?):" $missing >&2
            return 1
        fi
    done

    # Reports go to files, one per process, so none hides in a subprocess's
    # captured stderr. PYTHONMALLOC=malloc puts Python's own objects on ASan's
    # heap. A leak report doesn't change the exit status (CPython and numpy
    # leave some objects unfreed at exit): the reports are sorted out below.
    reports="$target_dir/reports"
    rm -rf "$reports" && mkdir -p "$reports"
    local run_env=(LD_PRELOAD="$runtime" PYTHONMALLOC=malloc PYTHONPATH="$pkg${PYTHONPATH:+:$PYTHONPATH}"
        PYO2_FIXTURE="$so" PYO2_ASAN=1 PYO2_ASAN_ACCEL="$accel" HYPOTHESIS_PROFILE=fast
        ASAN_OPTIONS="abort_on_error=1:detect_leaks=1:detect_stack_use_after_return=1:log_path=$reports/asan"
        LSAN_OPTIONS="exitcode=0")

    # The suites must run the instrumented accelerator, not the dev install's.
    found_accel=$(env "${run_env[@]}" "$PY" -c \
        'import pyo2._accel, pyo2._accelerate as a; assert a.available(); print(pyo2._accel.__file__)') || {
        echo "the ASan run can't import pyo2._accel (instrumented: $accel)" >&2
        return 1
    }
    if [ "$found_accel" != "$accel" ]; then
        echo "the ASan run imports pyo2._accel from $found_accel, not the instrumented $accel" >&2
        return 1
    fi

    # The suites: every module whose code reaches the fixture's or the
    # accelerator's unsafe code (objects, callbacks and their compiled
    # trampolines, iterators, the accelerator itself), run accelerated. The
    # pure path is the accelerator's fallback for what it doesn't take, so the
    # same modules cover it too. Left out: the three RSS tests below, which
    # measure ASan's allocator here, not pyo2 (it holds up to 256 MB of freed
    # memory back in its quarantine: test_owned_returns_are_freed's peak RSS
    # grows by 230 MB under ASan, over its 20 MB bar); LeakSanitizer checks
    # for the leaks they look for.
    local modules=(tests/python/test_properties.py tests/python/test_roundtrip.py
        tests/python/test_errors.py tests/python/test_fast_path.py tests/python/test_export.py
        tests/python/test_asan.py tests/python/test_records.py tests/python/test_owned_types.py
        tests/python/test_objects.py tests/python/test_callbacks.py tests/python/test_iterators.py
        tests/python/test_callback_trampolines.py tests/python/test_accelerator.py)
    [ -d tests/python/adversarial ] && modules=(tests/python/adversarial "${modules[@]}")
    env "${run_env[@]}" "$PY" -m pytest "${modules[@]}" -q -p no:cacheprovider \
        --deselect tests/python/test_records.py::test_memory_is_flat \
        --deselect tests/python/test_objects.py::test_a_million_objects_leave_nothing_alive_and_rss_flat \
        --deselect tests/python/test_accelerator.py::test_owned_returns_are_freed \
        "$@" || status=$?

    # Every ASan error counts; of the leaks, those allocated by Rust code: a
    # frame in the fixture or the accelerator, or any .rs line (only they
    # have Rust in them). Except what the accelerator's module initialisation
    # allocates (a __pyo3_pymodule or __pyo3_init frame: PyO3's module init,
    # run once per process): tables made once and kept for good by design,
    # which CPython points to from type objects it may free at exit, e.g. the
    # getset and member tables of pyo2-py/rust/src/lib.rs's function_types
    # (Box::leak; LeakSanitizer reports them, 80-200 bytes a process).
    for file in "$reports"/asan.*; do
        [ -e "$file" ] || continue
        if ! grep -q "ERROR: LeakSanitizer" "$file"; then
            cat "$file" >&2
            found=1
        elif awk -v RS= '/leak of/ && /libpyo2_fixture|_accel\.abi3\.so|\.rs:[0-9]/ &&
            !/ in (__pyo3_pymodule|__pyo3_init) / {print; print ""; hit = 1} END {exit !hit}' "$file" >&2; then
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
