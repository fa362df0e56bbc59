import json

from speechtl.metrics import score
from speechtl.report import Report, Row, worst_utterances


def test_worst_utterances_are_those_with_the_most_errors():
    result = score(["a", "b", "c"], ["one two three", "one two", "one"], ["one two three", "won too", "one x y"])
    worst = worst_utterances(result, count=2)
    assert [u["id"] for u in worst] == ["c", "b"]  # 2 insertions, 2 substitutions: ties by id, descending
    assert worst[1]["wer"] == 1.0


def test_report_writes_json_markdown_and_html_with_every_row(tmp_path):
    report = Report("demo")
    report.rows = [Row("legal-test", "base", "greedy", 0.5, 0.2, 0.1, 0.5, 10),
                   Row("legal-test", "adapted", "+LM+terms", 0.25, 0.1, 0.8, 0.9, 10)]
    report.history = [{"step": 1, "train_loss": 2.0, "dev_wer": 0.9, "lr": 1e-3},
                      {"step": 2, "train_loss": 1.0, "dev_wer": 0.5, "lr": 1e-3}]
    report.add_worst("legal-test", score(["u1"], ["a writ"], ["a rit"]))
    paths = report.write(tmp_path)
    data = json.loads(paths["json"].read_text())
    assert [r["wer"] for r in data["rows"]] == [0.5, 0.25] and data["worst"]["legal-test"][0]["id"] == "u1"
    md = paths["markdown"].read_text()
    assert "| legal-test | adapted | +LM+terms | 25.00 |" in md and "u1" in md
    html = paths["html"].read_text()
    assert html.count("<tr>") == 3 and "data:image/png;base64," in html
