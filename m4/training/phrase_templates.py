"""Generated noise statements and stop phrases: many distinct training phrases from small curated parts.

A tiny model trained from scratch on a few hundred phrases memorises them; it generalises when the
same decisive words come in many surroundings. Noise: everyday remarks, remarks to somebody else
and narration of what is on screen (the curated list keeps the hard negatives, "Max, stop
barking!", which a generator would make too many of). Stop: an opener, a way of saying stop, a
closer. Seeded; a generated phrase that equals (normalised) an evaluation phrase or an eval-part
phrase, or holds a benchmark phrase word for word, is dropped, so evaluation stays unseen.
"""

from __future__ import annotations

import random

_OPENERS = ("", "", "", "Oh, ", "Hmm, ", "Ugh, ", "Wow, ", "Honestly, ", "By the way, ", "Okay so ", "Man, ",
            "Gosh, ", "Ha, ", "Well, ", "You know, ", "Anyway, ", "Sigh, ", "Huh, ", "Yeah, ")
_SUBJECTS = ("my sister", "the neighbour", "our dog", "the bus", "my phone", "the kettle", "my boss", "the baby",
             "the cat", "my back", "the printer", "our car", "the heating", "my brother", "the garden", "the oven",
             "my laptop", "the landlord", "the new cafe", "my flatmate", "the team", "the train", "grandpa",
             "the weather", "the delivery", "my knee", "the wifi", "the kids", "the parrot", "my coffee")
_PREDICATES = ("is late again", "just called", "looks different today", "keeps making that noise",
               "was a disaster this morning", "needs fixing", "is driving me crazy", "smells amazing",
               "keeps acting up", "was surprisingly good", "is so loud tonight", "broke down yesterday",
               "has been weird all week", "is finally back", "got bigger somehow", "is in a mood",
               "cost a fortune", "is taking forever", "looks tired", "made my day", "is hiding somewhere",
               "needs a bath", "was fun for once", "is on holiday until Friday", "hates the rain")
_TIMES = ("", "", ".", " today.", " again.", ", typical.", " this week.", ", I swear.", " lately.", ", no kidding.")
_NAMES = ("Ana", "Ben", "Chloe", "Dev", "Emma", "Felix", "Grace", "Hugo", "Iris", "Jonas", "Kemal", "Lena",
          "Marco", "Nadia", "Omar", "Pia", "Quinn", "Ravi", "Sofia", "Theo", "Uma", "Viktor", "Wen", "Yusuf", "Zoe",
          "kids", "honey", "mate", "guys", "buddy")
_REQUESTS = ("pass me the salt", "close the door behind you", "grab my keys", "feed the cat", "turn the light off",
             "bring the laundry in", "call me back later", "take the bins out", "put the kettle on",
             "leave it on the counter", "check the oven", "hang your coat up", "save me a seat",
             "water the plants", "text me the address", "lock the back door", "pick up some bread",
             "tell your mum I said hi", "find the remote", "open the window a bit")
_CLOSERS_OTHERS = ("", ", please", ", thanks", ", would you", ", okay", " when you can", ", right now")
_ON_SCREEN = ("Look at that, {x} is {y}.", "Oh, {x} is {y}.", "{X} is {y}, I guess.", "So {x} is {y} now.")
_THINGS = ("the red circle", "a little square", "the caption", "that triangle", "the blue shape", "the picture",
           "someone in the back", "the car", "the crowd", "the screen")
_STATES = ("moving again", "getting bigger", "spinning", "back", "gone", "over on the left", "pretty bright",
           "changing colour", "really small", "still there")

_STOP_OPENERS = ("", "", "", "Okay, ", "Alright, ", "Hey, ", "Sorry, ", "Um, ", "Thanks, ", "Right, ", "Yep, ",
                 "Whoa, ", "Fine, ", "Oh, ", "Look, ", "Wait, ", "Okay okay, ", "Hmm, ", "Uh, ", "Ok, ")
_STOP_CORES = ("stop", "please stop", "stop now", "stop there", "stop it", "stop talking", "just stop",
               "you can stop", "that's enough", "enough", "enough now", "hold on", "hold it", "hold on a second",
               "wait", "wait a second", "hang on", "hang on a moment", "quiet", "be quiet", "quiet please", "hush",
               "shh", "pause", "pause there", "halt", "that'll do", "that will do", "that's plenty",
               "that's all I need", "that's all I needed", "no more", "no need to go on", "no need to continue",
               "you don't have to finish", "don't go on", "cut it short", "cut it there", "skip the rest",
               "wrap it up", "let's stop there", "let's leave it there", "I've heard enough", "I get it, stop",
               "got it, you can stop", "stop the answer", "stop describing", "stop explaining", "give it a rest",
               "no, stop", "stop, stop", "okay, stop", "enough, thanks", "that's enough detail", "can you stop",
               "could you stop", "would you stop", "silence", "cease", "end it there", "drop it")
_STOP_CLOSERS = ("", "", "", ".", "!", ", please.", ", thanks.", " now.", " for now.", " right there.",
                 ", I need to think.", ", that's too much detail.", ", I've got it.", ", I get it.",
                 ", thank you.", ", that's plenty.", " for a moment.", ", I'm busy.", "?", ", too long.")


def _sentence(text: str) -> str:
    text = text.strip()
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?" else text + "."


def noise_statement(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.45:
        return _sentence(rng.choice(_OPENERS) + f"{rng.choice(_SUBJECTS)} {rng.choice(_PREDICATES)}"
                         + rng.choice(_TIMES))
    if roll < 0.8:
        request = f"{rng.choice(_REQUESTS)}{rng.choice(_CLOSERS_OTHERS)}"
        said = f"{rng.choice(_NAMES)}, {request}" if rng.random() < 0.6 else f"{request}, {rng.choice(_NAMES)}"
        return _sentence(said) if rng.random() < 0.7 else _sentence(said)[:-1] + "!"
    x = rng.choice(_THINGS)
    return rng.choice(_ON_SCREEN).format(x=x, X=x[0].upper() + x[1:], y=rng.choice(_STATES))


def stop_phrase(rng: random.Random) -> str:
    return _sentence(rng.choice(_STOP_OPENERS) + rng.choice(_STOP_CORES) + rng.choice(_STOP_CLOSERS))


def generated(kind: str, n: int, seed: int = 0) -> tuple[str, ...]:
    """Up to n distinct generated phrases of `kind` ("noise" or "stop"), none of them an evaluation phrase."""
    from omnibench.m4.training.phrases import normalize, resembles_evaluation_phrase

    make = noise_statement if kind == "noise" else stop_phrase
    rng = random.Random(f"{kind}|{seed}")
    out: dict[str, str] = {}
    for _ in range(n * 20):
        if len(out) >= n:
            break
        phrase = make(rng)
        key = normalize(phrase)
        if key and not resembles_evaluation_phrase(phrase):
            out.setdefault(key, phrase)
    return tuple(out.values())
