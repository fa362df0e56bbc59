"""Legal sentences: hearings, motions practice, opinions and contracts."""

from __future__ import annotations

import random

from speechtl.vocabulary import Vocabulary

PARTIES = ("the plaintiff", "the defendant", "the appellant", "the appellee", "the petitioner", "the respondent",
           "the government", "the defense", "the prosecution")
RULINGS = ("grants", "denies", "grants in part and denies in part", "takes under advisement")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
NAMES = ("Judge Alvarez", "Judge Thompson", "Justice Moreno", "Ms. Whitfield", "Mr. Delgado", "Dr. Brennan",
         "Ms. Yamamoto", "Mr. Fischer")

TEMPLATES = (
    "Your Honor, {party} moves for a {motion}.",
    "The court {ruling} the {motion}.",
    "Objection, Your Honor, {doctrine}.",
    "Counsel, please approach the bench.",
    "{party_cap} argues that {latin} applies to these facts.",
    "Under the doctrine of {latin}, the claim is barred.",
    "The appellate court reviews the question {latin}.",
    "Section {n} of the agreement contains a {contract} and a {contract2}.",
    "The witness testified at the {proc} on {month} {day}, {year}.",
    "Pursuant to Rule {rule}, the {proc} is due within {days} days.",
    "This matter is set for a {proc} on {month} {day}.",
    "{party_cap} waived any claim of {doctrine}.",
    "The judge raised the issue of {doctrine} sua sponte.",
    "{name} filed a {motion} on behalf of {party}.",
    "The jury found {party} liable for {doctrine} and awarded {amount} dollars.",
    "We ask that the {proc} be entered {latin}.",
    "The contract was void because of a {contract} dispute.",
    "{party_cap} failed to establish {doctrine} by a preponderance of the evidence.",
    "Is it your testimony that you signed the {contract} on {month} {day}?",
    "The case was dismissed for lack of {doctrine}.",
    "{name} asked the court to issue a {proc}.",
    "The court held that {doctrine} did not apply and denied the {motion}.",
    "The parties filed a joint {proc} with the clerk of court.",
    "Sustained. The jury will disregard the last answer.",
    "Overruled. The witness may answer the question.",
    "Under {latin}, {party} bears the burden of proof.",
    "The {contract} survives termination of the agreement for {days} years.",
    "{party_cap} seeks {doctrine} and attorney fees.",
    "The record reflects a {proc} held in chambers.",
    "Please state your name for the record.",
)


def sentence(rng: random.Random, terms: Vocabulary) -> str:
    pick = lambda category: rng.choice(terms.by_category(category)).text  # noqa: E731
    contract, contract2 = rng.sample(terms.by_category("contract"), 2)
    party = rng.choice(PARTIES)
    return rng.choice(TEMPLATES).format(
        party=party, party_cap=party[0].upper() + party[1:], motion=pick("motion"), ruling=rng.choice(RULINGS),
        doctrine=pick("doctrine"), latin=pick("latin"), proc=pick("proc"), contract=contract.text,
        contract2=contract2.text, n=rng.randint(2, 24), month=rng.choice(MONTHS), day=rng.randint(1, 28),
        year=rng.randint(1998, 2025), rule=rng.choice(("12(b)(6)", "56", "26", "37", "403", "702", "11")),
        days=rng.randint(7, 60), name=rng.choice(NAMES), amount=rng.choice(("50,000", "1,200,000", "250,000", "75,000")),
    )
