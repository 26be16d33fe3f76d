"""cfn-lint on template.yaml: no errors, no warnings, no informational findings."""

from __future__ import annotations

from .conftest import TEMPLATE


def test_template_passes_cfn_lint() -> None:
    # Given the template, and cfn-lint with every rule including the informational ones
    from cfnlint.api import ManualArgs, lint_file

    config = ManualArgs(include_checks=["I"], regions=["us-east-1", "eu-west-1"])

    # When it is linted
    matches = lint_file(TEMPLATE, config=config)

    # Then nothing is reported
    assert [f"{m.rule.id} {m.message} (line {m.linenumber})" for m in matches] == []


def test_cfn_lint_would_catch_a_broken_template(tmp_path: object) -> None:
    # Given the template with a queue setting SQS rejects
    from pathlib import Path

    from cfnlint.api import ManualArgs, lint_file

    assert isinstance(tmp_path, Path)
    broken = tmp_path / "template.yaml"
    text = TEMPLATE.read_text()
    assert "VisibilityTimeout: 5400" in text
    broken.write_text(text.replace("VisibilityTimeout: 5400", "VisibilityTimeout: 99999"))

    # When it is linted
    matches = lint_file(broken, config=ManualArgs(regions=["us-east-1"]))

    # Then the lint reports an error (so the clean result above means something)
    assert any(m.rule.severity == "error" for m in matches)
