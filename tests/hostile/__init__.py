"""The hostile-input corpus (issue #13): a small valid review, the harness that runs the CLI on it,
and the cases that damage it.

`harness` runs `screener` in-process or as a subprocess and checks what a user would see (exit
code 0 or 2, one `error: ` line, no traceback) and that nothing outside the review changed;
`corpus` lists the cases. tests/test_hostile.py and tests/test_property.py use both.
"""
