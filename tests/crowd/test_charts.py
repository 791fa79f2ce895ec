"""The SVG chart geometry of the coordinator pages (pure)."""

from crowd.coordinator.charts import bar_chart, histogram


def test_bars_are_scaled_to_the_largest_and_sit_on_the_baseline():
    bars = bar_chart([0, 5, 10], ["a", "b", "c"], width=300, height=100)
    assert [round(b.height) for b in bars] == [0, 50, 100]
    assert all(round(b.y + b.height) == 100 for b in bars)
    assert bars[1].x > bars[0].x and bars[2].x + bars[2].width <= 300
    assert bar_chart([], []) == []


def test_histogram_bins_include_the_top_edge_and_skip_values_outside():
    assert histogram([0.0, 0.05, 0.5, 0.95, 1.0, 1.5, -0.1], bins=10) == [2, 0, 0, 0, 0, 1, 0, 0, 0, 2]
