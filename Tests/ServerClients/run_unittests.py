#!/usr/bin/env python3
"""Run the unittest suites and finish with a plain 'N passed, N failed, N skipped' line.

    python run_unittests.py                         # all three suites
    python run_unittests.py test_raw_http           # one module
    python run_unittests.py test_raw_http.RawAuthTest.test_bearer_key_accepted
"""
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
DEFAULT = ["test_raw_http", "test_openai_client", "test_anthropic_client", "test_structured_outputs", "test_ollama_client", "test_responses_api"]


class CountingResult(unittest.TextTestResult):
    passed = 0

    def addSuccess(self, test):
        super().addSuccess(test)
        self.passed += 1


def main() -> int:
    names = sys.argv[1:] or DEFAULT
    suite = unittest.defaultTestLoader.loadTestsFromNames(names)
    total = suite.countTestCases()
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout, resultclass=CountingResult).run(suite)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    passed = result.passed
    # a class skipped in setUpClass reports one skip for all of its tests
    skipped = max(len(result.skipped), total - passed - failed)
    if skipped:
        reasons = sorted({reason for _, reason in result.skipped})
        print("skip reasons: " + " | ".join(reasons))
    print(f"unittest: {passed} passed, {failed} failed, {skipped} skipped")
    if skipped and os.environ.get("SMOL_NO_SKIP"):
        print("unittest: SMOL_NO_SKIP is set and tests were skipped: failing")
        return 1
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
