"""Medical sentences: dictation, clinical notes and doctor-patient dialogue."""

from __future__ import annotations

import random

from speechtl.vocabulary import Vocabulary

DOSES = ("0.5", "1", "2", "2.5", "5", "10", "12.5", "20", "25", "40", "50", "81", "100", "250", "500", "1000")
FREQUENCIES = ("once daily", "twice daily", "three times a day", "every 6 hours as needed", "at bedtime",
               "every morning", "once weekly", "every 8 hours", "as needed for pain")
SIDE_EFFECTS = ("nausea", "dizziness", "a rash", "diarrhea", "a persistent cough", "swelling of the ankles",
                "fatigue", "headache", "muscle aches", "low blood pressure", "itching", "insomnia")
PEOPLE = ("Mr. Garcia", "Mrs. Chen", "Ms. Patel", "Mr. Johnson", "Mrs. Okafor", "Ms. Rossi", "Mr. Nguyen",
          "Mrs. Schmidt", "Ms. Haddad", "Mr. Kowalski")
SEXES = ("man", "woman")
TIMES = ("this morning", "last night", "two days ago", "last week", "since Monday", "for three weeks",
         "over the past month", "yesterday afternoon")

TEMPLATES = (
    "The patient was started on {drug} {dose} mg {freq}.",
    "{person} is a {age} year old {sex} with a history of {cond} and {cond2}.",
    "Continue {drug} {dose} mg {freq} for {cond}.",
    "Discontinue {drug} because of {side}.",
    "{proc} showed no evidence of {cond}.",
    "Plan is to schedule {proc} next week.",
    "She reports pain in the {anat} {time}.",
    "He has had pain in the {anat} for {days} days.",
    "Blood pressure is {sys}/{dia}, heart rate {hr}, temperature {temp} degrees.",
    "Assessment is {cond}, likely related to {cond2}.",
    "Refer to the specialist for {proc}.",
    "The {anat} appears unremarkable on {proc}.",
    "Increase {drug} to {dose} mg {freq}.",
    "The patient is allergic to {drug}, which caused {side}.",
    "Is there any family history of {cond}?",
    "Have you been taking your {drug} every day?",
    "We will check a {proc} and a {proc2} today.",
    "Post operative day {days} after {proc}, the patient is doing well.",
    "{drug} and {drug2} were held this morning.",
    "Impression: {cond} with involvement of the {anat}.",
    "Give {drug} {dose} mg intravenously now, then reassess in {days} hours.",
    "The {proc} was performed without complications.",
    "Differential diagnosis includes {cond}, {cond2} and {cond3}.",
    "Her {anat} was tender to palpation.",
    "Switch from {drug} to {drug2} because of {side}.",
    "Follow up in {days} weeks with a repeat {proc}.",
    "Do you get short of breath when you climb stairs?",
    "The patient denies chest pain, fever or {side}.",
    "Start {drug} and taper {drug2} over {days} days.",
    "Findings are consistent with {cond} of the {anat}.",
)


def sentence(rng: random.Random, terms: Vocabulary) -> str:
    pick = lambda category: rng.choice(terms.by_category(category)).text  # noqa: E731
    drug, drug2 = rng.sample(terms.by_category("drug"), 2)
    cond, cond2, cond3 = rng.sample(terms.by_category("cond"), 3)
    proc, proc2 = rng.sample(terms.by_category("proc"), 2)
    return rng.choice(TEMPLATES).format(
        drug=drug.text, drug2=drug2.text, cond=cond.text, cond2=cond2.text, cond3=cond3.text,
        proc=proc.text, proc2=proc2.text, anat=pick("anat"), dose=rng.choice(DOSES),
        freq=rng.choice(FREQUENCIES), side=rng.choice(SIDE_EFFECTS), person=rng.choice(PEOPLE),
        age=rng.randint(19, 94), sex=rng.choice(SEXES), time=rng.choice(TIMES), days=rng.randint(2, 14),
        sys=rng.randint(95, 185), dia=rng.randint(55, 110), hr=rng.randint(48, 130),
        temp=f"{rng.uniform(36.0, 39.9):.1f}",
    ).replace("  ", " ")
