import pytest

from shipbench.stats import summarize


def test_summary_orders_min_median_max() -> None:
    assert summarize([0.3, 0.1, 0.2, 0.5, 0.4]) == {"median": 0.3, "min": 0.1, "max": 0.5, "n": 5,
                                                   "samples": [0.3, 0.1, 0.2, 0.5, 0.4]}


def test_even_count_median_is_the_mean_of_the_middle_two() -> None:
    assert summarize([1.0, 4.0, 2.0, 3.0])["median"] == 2.5


def test_no_measurements_is_an_error_not_a_zero() -> None:
    with pytest.raises(ValueError):
        summarize([])
