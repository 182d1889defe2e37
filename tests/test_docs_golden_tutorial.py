"""Golden outputs of docs/tutorial.md: every output it shows is what its command prints now.

What is checked and how: test_docs_golden.py. This page has a module of its own
(golden_docs.MODULES) so that its commands run beside the other long pages' in a second test process.
"""

from __future__ import annotations

from golden_docs import page_tests

runner, test_shown_output_is_what_the_command_prints_now, test_commands_that_write_results_leave_a_whole_folder = \
    page_tests(__name__)
