#!/usr/bin/env bash
# Run the smol-serve integration suites, then a small load test.
#
#   SMOL_BIN=/path/to/smol SMOL_MODEL=/models/smollm2 SMOL_TOOL_MODEL=/fixtures/smollm3-tool ./run_all.sh
#
# PYTHON      interpreter with requirements-server-tests.txt installed (default: ./venv or ../venv, else python3)
# INSTRUCTOR_PYTHON  interpreter with requirements-instructor.txt installed (its own venv)
# LOAD_CLIENTS / LOAD_REQUESTS   load-test size (default 4 x 5); LOAD_MIX request kinds (see load_test.py);
# LOAD_DURATION   seconds of a timed soak instead of a request count
# Exit code: 0 only if every suite and the load test passed.
set -u
cd "$(dirname "$0")"

if [ -z "${PYTHON:-}" ]; then
  if [ -x ./venv/bin/python ]; then PYTHON=./venv/bin/python
  elif [ -x ../venv/bin/python ]; then PYTHON=../venv/bin/python
  else PYTHON=python3; fi
fi

if ! "$PYTHON" -c 'import openai, anthropic' 2>/dev/null; then
  echo "error: $PYTHON cannot import openai/anthropic; run: $PYTHON -m pip install -r requirements-server-tests.txt" >&2
  exit 2
fi

for v in SMOL_BIN SMOL_MODEL SMOL_TOOL_MODEL; do
  if [ -z "${!v:-}" ]; then echo "NOTE: $v is not set: the tests that need it will be SKIPPED" >&2; fi
done
if [ -n "${SMOL_BIN:-}" ] && [ ! -x "$SMOL_BIN" ]; then
  echo "error: SMOL_BIN=$SMOL_BIN is not executable" >&2
  exit 2
fi

export SMOL_TEST_LOG_DIR="${SMOL_TEST_LOG_DIR:-$(mktemp -d -t smol-servertests-XXXXXX)}"
echo "server logs: $SMOL_TEST_LOG_DIR"

rc=0
echo "=== unittest suites ==="
"$PYTHON" run_unittests.py || rc=1

if [ -n "${INSTRUCTOR_PYTHON:-}" ]; then
  echo "=== instructor (its own venv) ==="
  "$INSTRUCTOR_PYTHON" run_unittests.py test_instructor || rc=1
else
  echo "NOTE: INSTRUCTOR_PYTHON is not set: the instructor suite is SKIPPED" >&2
fi

echo "=== load test ==="
"$PYTHON" load_test.py --clients "${LOAD_CLIENTS:-4}" --requests "${LOAD_REQUESTS:-5}" --mix "${LOAD_MIX:-stream,plain,cancel,bad,shared,ollama,schema}" ${LOAD_DURATION:+--duration "$LOAD_DURATION"} || rc=1

if [ "$rc" -eq 0 ]; then echo "run_all: PASSED"; else echo "run_all: FAILED"; fi
exit "$rc"
