"""The model itself (triage/learning.py), with no database."""

from triage import learning

from .conftest import OBVIOUS, fixture_rows, labelled_rows


def test_a_model_learned_from_a_small_set_names_the_obvious_service_type():
    fitted = learning.fit(fixture_rows())

    prediction = learning.predict(fitted, OBVIOUS)

    assert prediction.types[0][0] == "aircon-repair"
    assert prediction.types[0][1] > 0.5
    assert learning.predict(fitted, "The washing machine will not drain").types[0][0] == "washer-repair"
    assert learning.predict(fitted, "冰箱冷冻室不冻了").types[0][0] == "fridge-repair"


def test_the_fast_reader_gives_scikit_learns_own_probabilities():
    fitted = learning.fit(labelled_rows())
    texts = [row[0] for row in labelled_rows()[::7]] + ["热水器漏水 and the fridge is warm", "空调"]

    for text in texts:
        fast, slow = learning.predict(fitted, text), learning.predict_sklearn(fitted, text)
        assert [t for t, _p in fast.types] == [t for t, _p in slow.types]
        assert all(abs(p - q) < 1e-9 for (_t, p), (_u, q) in zip(fast.types, slow.types))
        assert fast.priority == slow.priority
        assert abs(fast.priority_confidence - slow.priority_confidence) < 1e-9


def test_text_with_no_known_word_gets_no_guess():
    fitted = learning.fit(fixture_rows())

    assert learning.predict(fitted, "zzqx 12345").types == []


def test_the_held_out_evaluation_covers_every_class_learned():
    fitted = learning.fit(fixture_rows(), held_out=0.2)

    assert set(fitted.evaluation["classes"]) == {"aircon-repair", "washer-repair", "fridge-repair"}
    assert fitted.evaluation["n"] == sum(c["n"] for c in fitted.evaluation["classes"].values())
    assert 0.0 <= fitted.evaluation["top1"] <= fitted.evaluation["top3"] <= 1.0
    # The model kept was fitted again on every row
    assert fitted.samples == len(fixture_rows())


def test_a_model_survives_the_trip_through_bytes():
    fitted = learning.fit(fixture_rows())

    again = learning.loads(learning.dumps(fitted))

    assert learning.predict(again, OBVIOUS) == learning.predict(fitted, OBVIOUS)
