"""dp_helpers.book: prose with computed numbers, spreads, and reading committed tables."""
import numpy as np
import pytest
from scipy import stats

import dp_helpers as dp


def test_fill_formats_named_fields_and_leaves_latex_alone():
    text = dp.fill(r"$\hat{p}_j$ is {acc:.3f} on {n:,} points; $\frac{a}{b}$", acc=0.69341, n=10000)
    assert text == r"$\hat{p}_j$ is 0.693 on 10,000 points; $\frac{a}{b}$"


@pytest.mark.parametrize("template, values, match", [
    ("accuracy {acc}", {"acc": 0.5, "typo": 1}, r"\['typo'\] are not used"),
    ("n = {n:.3f}", {"n": "ten"}, r"field \{n:.3f\} cannot format 'ten'"),
])
def test_fill_rejects_unused_values_and_bad_formats(template, values, match):
    with pytest.raises(ValueError, match=match):
        dp.fill(template, **values)


def test_fill_rejects_a_template_that_is_not_text():
    with pytest.raises(TypeError, match="template must be a str"):
        dp.fill(3.0)


def test_mean_interval_is_the_student_t_interval():
    x = np.array([0.81, 0.84, 0.80, 0.86, 0.83])
    mean, half = dp.mean_interval(x)
    assert mean == pytest.approx(x.mean())
    assert half == pytest.approx(stats.t.ppf(0.975, 4) * x.std(ddof=1) / np.sqrt(5))
    assert dp.format_interval(x) == f"{x.mean():.3f} ± {half:.3f}"


@pytest.mark.parametrize("values, level, match", [
    ([0.5], 0.95, "at least 2 runs"),
    ([0.5, np.nan], 0.95, "finite"),
    ([0.5, 0.6], 1.0, "strictly between 0 and 1"),
])
def test_mean_interval_refuses_what_has_no_spread(values, level, match):
    with pytest.raises(ValueError, match=match):
        dp.mean_interval(values, level)


def test_read_markdown_tables_reads_every_table_with_numbers(tmp_path):
    path = tmp_path / "bench.md"
    path.write_text("# T\n\n| a | b |\n|---|--:|\n| x | 1.5 |\n| y | 2 |\n\ntext\n\n| c |\n|:-:|\n| 1e6 |\n")
    first, second = dp.read_markdown_tables(path)
    assert first["a"].tolist() == ["x", "y"] and first["b"].tolist() == [1.5, 2.0]
    assert second["c"].tolist() == [1e6]


def test_the_committed_benchmark_tables_read_back():
    tables = dp.read_markdown_tables("benchmarks/class_conditional.md")
    spam = next(t for t in tables if "covered_all" in t.columns)
    assert spam["covered_all"].between(0, 1).all() and spam["model"].str.startswith("Snorkel").any()


def test_code_in_the_book_pages_prints_what_its_comments_say(capsys):
    """A ```python block on a book page whose ``print(...)`` line ends in ``# "text"`` must print that
    text when run: the pages' worked examples are checked like the chapters' numbers."""
    import re
    from pathlib import Path

    pages = sorted((Path(__file__).resolve().parents[1] / "book").glob("*.md"))
    claims = 0
    for page in pages:
        for block in re.findall(r"^```python\n(.*?)^```", page.read_text(encoding="utf-8"), re.M | re.S):
            expected = re.findall(r"^\s*print\(.*\)\s*#\s*\"([^\"]+)\"", block, re.M)
            if not expected:
                continue
            exec(compile(block, str(page), "exec"), {})
            printed = capsys.readouterr().out
            for text in expected:
                claims += 1
                assert text in printed, f"{page.name}: the comment says {text!r}, but the code prints {printed!r}"
    assert claims, "no book page has a worked example with its printed result in a comment"
