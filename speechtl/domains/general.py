"""Everyday English sentences, written for this project, to mix into domain data so
that adaptation keeps the general vocabulary alive."""

from __future__ import annotations

import random

from ..vocabulary import Vocabulary

NAMES = ("Anna", "Ben", "Carlos", "Diana", "Ethan", "Fatima", "George", "Hannah", "Ivan", "Julia", "Kevin",
         "Laura", "Mohammed", "Nina", "Oliver", "Priya", "Quentin", "Rosa", "Samuel", "Tara", "my brother",
         "my sister", "our neighbor", "the teacher", "the manager", "my grandmother", "the driver")
PLACES = ("the station", "the library", "the market", "the office", "the park", "the museum", "the airport",
          "the beach", "the school", "the hospital", "the bakery", "the river", "the city center", "the garden",
          "the post office", "the stadium", "the hotel", "the bank", "the harbor", "the farm")
THINGS = ("the letter", "a new bicycle", "the old photographs", "some fresh bread", "the keys", "a cup of tea",
          "the newspaper", "an umbrella", "the tickets", "a birthday present", "the report", "the map",
          "a warm jacket", "the groceries", "a small boat", "the piano", "the window", "the broken chair")
TIMES = ("this morning", "yesterday", "last summer", "every Sunday", "at noon", "tomorrow evening", "in the spring",
         "after dinner", "before sunrise", "on Friday", "next month", "at 7:30", "in 1998", "two weeks ago")
VERBS_PAST = ("found", "bought", "carried", "painted", "repaired", "forgot", "opened", "borrowed", "sold",
              "cleaned", "described", "delivered", "ordered", "lost", "returned", "packed")
ADJECTIVES = ("quiet", "crowded", "beautiful", "cold", "bright", "noisy", "warm", "empty", "famous", "small",
              "peaceful", "busy", "modern", "ancient", "comfortable")
ACTIVITIES = ("walking the dog", "reading a novel", "cooking dinner", "learning to swim", "watching the rain",
              "planting tomatoes", "writing a song", "fixing the roof", "playing chess", "studying history",
              "riding a train", "visiting friends", "waiting for the bus", "listening to music")
WEATHER = ("sunny", "windy", "foggy", "rainy", "freezing", "humid", "stormy", "clear")

TEMPLATES = (
    "{name} {verb} {thing} at {place} {time}.",
    "We walked to {place} {time} because the weather was {weather}.",
    "The {adj} room at {place} was full of people.",
    "Could you bring {thing} when you come home?",
    "{name_cap} spent the afternoon {activity}.",
    "I think {name} left {thing} near {place}.",
    "It was a {weather} day, so we stayed inside and kept {activity}.",
    "Please call me when you get to {place}.",
    "The train to {place} leaves at {clock} from platform {n}.",
    "There were {count} people waiting outside {place} {time}.",
    "{name_cap} said the soup was too {adj2}.",
    "Do you remember where we put {thing}?",
    "My favorite part of the week is {activity} with {name}.",
    "The {adj} streets near {place} are lovely in the evening.",
    "After a long day, {name} fell asleep on the sofa.",
    "We need {count} chairs, {thing}, and a lot of patience.",
    "What time does {place} open on Saturday?",
    "{name_cap} has been {activity} since {time2}.",
    "The price went up by {percent}% in one year.",
    "It takes about {count} minutes to drive to {place}.",
    "If it stays {weather} tomorrow, we will go to {place}.",
    "Nobody knew who had {verb} {thing}.",
    "The children laughed when {name} dropped {thing}.",
    "She wrote down the address and the phone number on a card.",
    "The meeting was moved to {day} at {clock}.",
    "He was born on {month} {date}, {year}.",
    "Let me know if you need help with {thing}.",
    "The view from {place} was {adj}.",
    "We should leave early to avoid the traffic near {place}.",
    "Thank you for {activity} with us today.",
)
ADJ2 = ("salty", "spicy", "sweet", "hot", "thin", "bland")
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
MONTHS = ("January", "March", "May", "July", "September", "November")


def sentence(rng: random.Random, terms: Vocabulary | None = None) -> str:
    name = rng.choice(NAMES)
    return rng.choice(TEMPLATES).format(
        name=name, name_cap=name[0].upper() + name[1:], verb=rng.choice(VERBS_PAST), thing=rng.choice(THINGS),
        place=rng.choice(PLACES), time=rng.choice(TIMES), time2=rng.choice(TIMES), weather=rng.choice(WEATHER),
        adj=rng.choice(ADJECTIVES), adj2=rng.choice(ADJ2), activity=rng.choice(ACTIVITIES),
        clock=f"{rng.randint(1, 12)}:{rng.choice(('00', '15', '30', '45'))}", n=rng.randint(1, 12),
        count=rng.randint(2, 60), percent=rng.randint(2, 40), day=rng.choice(DAYS), month=rng.choice(MONTHS),
        date=rng.randint(1, 28), year=rng.randint(1940, 2015),
    )
