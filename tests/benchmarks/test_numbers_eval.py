"""The whole-number benchmark runs end to end on a few numbers (with the shipped model: no training)."""

from __future__ import annotations

import json

from benchmarks.numbers_eval import common_digits, main


def test_common_digits_counts_digits_read_right_in_order() -> None:
    assert common_digits("2026", "2026") == 4
    assert common_digits("11315", "4315") == 3  # one digit read as two: the other three still count
    assert common_digits("", "2026") == 0


def test_a_few_numbers_with_gaps_and_touching(pendigits_file, capsys, tmp_path) -> None:
    errors = tmp_path / "mistakes.png"
    for extra in ([], ["--touching"]):
        main(["--shipped", "--numbers", "6", "--pendigits", str(pendigits_file), "--json",
              "--errors", str(errors), *extra])
        result = json.loads(capsys.readouterr().out)
        assert result["numbers"] == 6 and 0 <= result["exact"] <= result["digit_accuracy"] <= 1
        assert result["touching"] == bool(extra) and len(result["writers"]) == 30
        # digits of the numbers whose count was read right, each also read drawn alone
        assert result["digits_compared"] == 4 * round(result["right_count"] * 6)
        assert 0 <= result["digit_inside"] <= 1 and 0 <= result["digit_alone"] <= 1
        assert result["runner_up_right"] <= 1 - result["exact"] and 0 <= result["exact_when_sure"] <= 1
    assert errors.stat().st_size > 0
