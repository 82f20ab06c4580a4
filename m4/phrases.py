"""Noise statements and stop phrases for M4-IT: curated offline lists, split into train and eval parts.

A noise statement is something a user says that needs no reply (an aside, talk to someone else,
thinking aloud); a stop phrase tells the speaker to stop. The split is by a hash of the
normalised phrase, so adding a phrase never moves another one between parts; train and eval
never share a phrase. The benchmark's own interruption lists (tasks/phrases.py, the synthetic
suite, OmniMMI's turn-taking remarks) are evaluation material: `evaluation_phrases()` returns
them, and the tests check that none of them is in a train part. The LLM generator lives in
phrase_llm.py.
"""

from __future__ import annotations

import hashlib
import re

EVAL_EVERY = 5        # about one phrase in five goes to the eval part

_NOISE = (
    # asides and thinking aloud
    "Hmm, where did I put my glasses.", "Oh, I need to reply to that email later.", "Ugh, my knee hurts.",
    "I could really go for a sandwich right now.", "Let me think about the weekend plans.",
    "Ah, I forgot to charge the laptop.", "Man, this room is chilly.", "Oops, dropped my pen.",
    "I keep meaning to call the dentist.", "My plants look a bit sad today.", "So many tabs open, wow.",
    "I'll have to remember that password somehow.", "Was it Tuesday or Wednesday, the appointment?",
    "I should really go to bed earlier.", "The fridge is humming again.", "I think I'm catching a cold.",
    "Right, where was I.", "Okay, that smell is definitely toast burning.", "Note to self, renew the passport.",
    "I'm so hungry I could eat a horse.", "Ooh, a new message. Later.", "My coffee mug is empty again.",
    "Ugh, Mondays.", "Yawn. Sorry.", "Oh dear, the milk's gone off.", "I need a haircut badly.",
    "Wow, my hands are freezing.", "Nice, the sun finally came out.", "The wifi is crawling today.",
    "Hmm, interesting choice of music in the background.", "I wonder if the bakery is still open.",
    # talking to someone else in the room
    "Lisa, could you turn the heater up a bit?", "Kids, dinner in five minutes!", "Mike, your phone's ringing.",
    "Dad, did you feed the dog already?", "Thanks, just leave it by the door.", "Sweetie, put your shoes on.",
    "No, the blue folder, not the red one.", "Can somebody close the window, please? It's drafty.",
    "Jenny, I'll be there in a minute.", "Yes, I'm on a call, sort of.", "Leave the boxes in the hallway, Raj.",
    "Grandma, your tea is ready.", "Nope, I haven't seen your charger.", "Put it on my tab, Luis.",
    "Just a sec, Ben, I'm in the middle of something.", "Who took the last cookie? Fess up.",
    "Chris, the delivery guy is here.", "Mom, I already did my homework!", "Turn that down a little, Nico.",
    "Hey, good morning, Fatima!", "See you tomorrow, Olga.", "Love you too, bye.", "Yes dear, I heard you.",
    # small talk and remarks
    "That's a lovely shade of green.", "Traffic was murder on the ring road.", "Gosh, prices keep going up.",
    "My sister just had twins, can you believe it.", "The match last night was a nail-biter.",
    "I've been binge-watching that baking show.", "Summer went by so fast this year.",
    "Our team lost again, typical.", "This city never sleeps, huh.", "Nothing beats homemade soup.",
    "I started jogging last week, my legs are dead.", "The garden is full of snails this year.",
    "They're repaving the street outside again.", "The bus driver waved at me today, nice guy.",
    "What a week it has been.", "Autumn leaves are the best.", "I miss the beach.",
    "Board games tonight, I think.", "My cousin moved to Lisbon.", "Fresh bread smells amazing.",
    # exclamations and fillers
    "Whoa.", "Yikes.", "Oh boy.", "Phew.", "Aha.", "Yeah.", "Uh-huh.", "Hmm, okay.", "Gotcha.", "Nice.",
    "Oh, come on.", "Unbelievable.", "Ha!", "Oh my.", "Heh.", "Sure, sure.", "Alright then.", "Indeed.",
    "Cool cool cool.", "Well, well.",
    # work and study
    "The quarterly report is due Friday, ugh.", "I need to book a room for the team sync.",
    "Another meeting that could have been an email.", "My manager loves spreadsheets way too much.",
    "The build broke again, of course.", "I'll finish the slides after lunch.", "Exams start next month, yikes.",
    "The library closes early on Sundays.", "I have three deadlines on the same day.",
    "The projector in room four never works.", "I should update my CV at some point.",
    "Our intern brought donuts, bless him.", "The printer ate my document again.",
    "I can't believe the server went down during the demo.", "Time for a quick coffee break.",
    # formal register
    "Please note that the conference room is booked until noon.", "I shall attend to the correspondence later.",
    "For the record, I disagreed with the decision.", "As previously discussed, the budget remains unchanged.",
    "The committee will reconvene next Thursday.", "Kindly forward the minutes to the board.",
    "I must say, the catering was rather disappointing.", "One ought to be more careful with receipts.",
    "The annual review is scheduled for March.", "I appreciate the gesture, truly.",
    # casual, slangy, young
    "Lol, that meme is everywhere.", "Bruh, my game lagged so hard.", "No cap, that pizza slapped.",
    "Ugh, my ex just texted me.", "Vibes are immaculate today.", "I'm literally so done with this week.",
    "Brb, gotta grab snacks.", "That's lowkey hilarious.", "Okay bestie, whatever you say.",
    "My playlist is fire today.", "Oof, that's rough.", "Sheesh, it's hot.",
    # longer musings
    "You know, I've been thinking about repainting the kitchen, maybe something warm like terracotta.",
    "When I was little we used to spend every summer at my grandparents' farm, feeding the chickens.",
    "If the weather holds up this weekend, I might finally clean out the garage and sell the old bike.",
    "I read somewhere that octopuses have three hearts, which is honestly kind of wild when you think about it.",
    "My neighbour has been learning the trumpet for three months and it is not getting any better.",
    "Honestly the best holiday I ever had was that rainy week in Scotland, no idea why.",
    "I keep telling myself I'll learn Spanish, and every year it's the same story.",
    "The thing about sourdough is that it takes forever, but it's so worth it in the end.",
    "I found an old photo album in the attic with pictures of my parents' wedding.",
    "Sometimes I think I should just move to the countryside and grow tomatoes.",
    "We should plan a reunion with the old gang from university one of these days.",
    "My flatmate keeps leaving dishes in the sink and I really don't want to start an argument.",
    # pets, home, food
    "The dog is chasing its tail again.", "The parrot learned a new word, oh no.", "My cat is sleeping on my notes.",
    "The washing machine is making that weird noise.", "I burnt the rice, great.", "Smells like someone is baking.",
    "The radiator is clanking like crazy.", "We're out of toilet paper.", "I put way too much salt in the soup.",
    "The goldfish looks bored.", "There's a spider in the bathtub, gross.", "The toaster is broken again.",
    "I should defrost the freezer.", "The dishwasher finished, finally.", "Our hamster escaped last night.",
    # weather, travel, sports
    "Looks like snow later.", "The flight got delayed by two hours.", "The train was packed this morning.",
    "I need new running shoes.", "That storm last night was something else.", "It's foggy as anything outside.",
    "Our hotel had the tiniest elevator.", "The marathon is closing roads on Sunday.", "It's windy, hold your hat.",
    "My bike has a flat tyre.", "The ferry was so choppy.", "Finally some sunshine.",
    # money, health, errands
    "I need to pay the electricity bill.", "My dentist appointment got moved.", "Pharmacy closes at six, remember.",
    "I've been sleeping terribly lately.", "Groceries cost a fortune now.", "The car needs an oil change.",
    "I should drink more water.", "My allergy is acting up.", "Gotta pick up the dry cleaning.",
    "I forgot my umbrella at the office.", "Parking here is a nightmare.", "I owe Sam twenty bucks.",
    # reactions to something off screen
    "Did you hear that? Probably just the wind.", "Someone's mowing the lawn at seven in the morning.",
    "The baby upstairs is crying again.", "That car alarm won't stop.", "Sounds like fireworks somewhere.",
    "Oh look, a hot air balloon.", "The kettle's whistling.", "Somebody's knocking, hang on, no, it stopped.",
    "The lights flickered just now.", "A bird just flew into the window, it's okay though.",
    # questions not meant for the model (rhetorical or to others)
    "Why do I always pick the slowest queue?", "Who leaves a single sock on the stairs?",
    "Nico, did you lock the back door?", "What was I even doing?", "Who's coming to the barbecue, Ana?",
    "Isn't it funny how cats always know?", "Where does the time go, seriously?",
    # hobbies and plans
    "I want to try rock climbing this year.", "My knitting project is a total mess.",
    "The model train set needs new tracks.", "I'm halfway through a thousand-piece puzzle.",
    "Choir practice got cancelled tonight.", "My chess rating finally went up.",
    "I repotted the cactus this morning.", "The book club picked a really long novel this time.",
    # the words of stopping, said to somebody else or about something else (hard negatives)
    "Max, stop barking at the mailman!", "Kids, stop fighting over the remote.", "Sam, stop kicking my chair.",
    "I can't stop laughing at that video.", "The bus stop moved across the street.", "The rain just won't stop.",
    "Stop by the bakery on your way home, okay, hon?", "Hold the door for me, Maria!",
    "Hold my coffee for a second, Dan.", "Jake, wait for me by the car.", "Wait till you see the new kitchen.",
    "I've had enough coffee for one day.", "We had enough snow this winter to last a lifetime.",
    "Keep it down in there, boys!", "The library is so quiet today.", "The office is weirdly silent on Fridays.",
    "My sister can never stop talking about her wedding.", "Let's stop at the gas station later, babe.",
    "Nobody could stop that striker last night.", "I'll pause the washing machine in a bit.",
    "Hang the coats on the hooks, Tim.", "Good enough for me.", "Cut the cake already, Rosa!",
    "That's plenty of pasta for four people, right, Lee?", "Shush, Biscuit, it's only the postman.",
    "Okay then.", "Makes sense.", "Mm, true.", "Right, right.", "Sounds about right.", "Ah, okay.",
    "Quit it, Leo, give your sister the ball.", "End of the month already, wow.", "Hold on tight, kids, bumpy road.",
)

_STOP = (
    "Stop right now.", "Please stop.", "That's enough for now.", "Okay, that's good, stop.", "Stop, I've got it.",
    "Zip it.", "Alright, enough talking.", "Cease.", "Please stop speaking.", "Hold it.", "I said stop.",
    "Stop, thank you.", "Wait, stop.", "Don't continue.", "No more, please.", "Stop, that's all.",
    "Enough, enough.", "Okay, you can be quiet now.", "Quiet now.", "Shush.", "Stop it.", "Stop please.",
    "You can end it there.", "End here, please.", "Please don't go on.", "Thanks, stop there.",
    "Right, stop.", "Stop! That's plenty.", "Pause, please.", "Hold up.", "Wait a moment, stop talking.",
    "Be quiet.", "Silence, please.", "Ok stop.", "That's sufficient, thank you.", "Stop now.",
    "Let's leave it there.", "Okay, no need to finish.", "Shut up for a second.", "Stop speaking.",
    "Hey, stop.", "Stop, I need to think.", "Hang on, stop for a moment.", "Just stop.", "Stop the answer.",
    "Kindly stop.", "Thank you, that's all.", "Yep, stop there.", "Stop, please, that's enough.",
    "Stop talking now.", "I've heard enough, stop.", "Okay, quiet.", "Enough for now, thanks.",
    "Stop, stop, stop.", "You may stop.", "Please cease talking.", "Alright, stop it there.",
    "Wrap it up, stop.", "Stop a second.", "All right, that will do.",
    # the wider vocabulary of stopping: holding, waiting, hushing, having heard enough
    "Hang on.", "Hold on a moment.", "Wait a sec.", "Wait, hold on.", "Hold your horses.", "Hush.", "Shhh.",
    "Shh, quiet.", "Pause there.", "Pause it.", "Enough already.", "Enough said.", "That will do, thanks.",
    "I get the idea.", "Okay, I got it.", "Got it, thanks, that's enough.", "No need to continue.",
    "No need to say more.", "You don't need to go on.", "Skip the rest.", "Leave it there.", "Drop it.",
    "Cut it there.", "Cut.", "That's it, stop.", "That's all I wanted.", "I've got what I need.",
    "Never mind the rest.", "Okay, halt there.", "Please hold it there.", "Stop there, thanks.",
    "Quit talking.", "Silence.", "Be quiet, please.", "Okay, shush.", "Hold it right there.",
    "Wait, that's enough.", "Stop for now, please.", "I don't need more.", "Fine, enough.",
    # more ways, in more registers, some with a reason attached
    "Could you stop for a second?", "Would you please stop?", "Alright, you can stop talking.",
    "Hold on, let me think.", "Hold on, stop there.", "Hold on a second, please.", "Just hold on.", "Hold it, please.",
    "Wait.", "Wait, please stop.", "Wait a minute.", "Wait, wait, wait.", "Just wait.", "Hang on a minute.",
    "Hang on, hang on.", "Halt, please.", "Halt right there.", "That'll be all.", "That'll do, thank you.",
    "That's plenty.", "Plenty, thanks.", "Okay, enough.", "Enough, please.", "Enough now.", "I've heard enough now.",
    "No more.", "No more talking.", "Nothing more, thanks.", "Don't go on.", "Don't say more.", "Don't finish that.",
    "You can finish there.", "You don't have to go on.", "No need to explain further.", "Let's end it here.",
    "Let's pause here.", "Let's call it there.", "Let's stop for now.", "We can stop here.", "We can stop now.",
    "Pause.", "Pause for a bit.", "Pause, pause.", "Hush, please.", "Hush, hush.", "Shh, stop.", "Shh, please.",
    "Quiet.", "Quiet down, please.", "Quiet for a moment.", "Be silent.", "Keep quiet, please.",
    "Stop there, I need to think.", "Stop, I'm thinking.", "Stop, I need a moment.", "Stop, let me look.",
    "Stop, I want to watch.", "Okay, okay, stop.", "Fine, stop.", "Stop, that's too much detail.",
    "Too much, stop.", "That's too long, stop.", "Cut it.", "Cut it out.", "Cut the rest.", "Skip it.",
    "Skip the rest, please.", "Enough detail.", "Stop the description.", "Stop describing.", "Stop explaining.",
    "Stop right there.", "Please, stop now.", "Please just stop.", "Just be quiet.", "Give it a rest.",
    "Knock it off.", "No, stop.", "Nope, stop.", "Stop, that's it.", "All good, you can stop.", "I'm good, stop.",
    "Got it, you can stop.", "Understood, stop there.", "Stop, my phone is ringing.", "Stop, someone's at the door.",
    "Ugh, stop, I'm tired.", "Wow, okay, stop talking.", "Hmm, stop for a moment.", "Sorry, stop, I need to go.",
)

_FILLER_BEFORE = ("Okay, ", "Um, ", "Hey, ", "Oh, ", "Well, ", "Alright, ", "Sorry, ", "Hmm, ", "So, ", "Look, ")
_FILLER_AFTER = {"stop": (" Please.", " Thanks.", " Right now.", " Okay?"),
                 "noise": (" Anyway.", " Whatever.", " Ha.", " Honestly.")}


def augment_phrase(phrase: str, rng, kind: str) -> str:
    """A spoken-style variant: a filler before, after, or both; sometimes lower case."""
    out = phrase
    roll = rng.random()
    if roll < 0.6:
        out = rng.choice(_FILLER_BEFORE) + out[0].lower() + out[1:]
    if roll > 0.4:
        out = out + rng.choice(_FILLER_AFTER["stop" if kind == "stop" else "noise"])
    return out.lower() if rng.random() < 0.2 else out


def normalize(text: str) -> str:
    """Lower case, letters and digits only: the form compared for overlap and duplicates."""
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def in_eval(text: str) -> bool:
    digest = hashlib.sha256(normalize(text).encode("utf-8")).digest()
    return digest[0] % EVAL_EVERY == 0


def split(phrases: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(train, eval): deterministic, by hash; a phrase the benchmark uses never lands in train."""
    held = {normalize(p) for p in evaluation_phrases("noise") + evaluation_phrases("stop")}
    train = tuple(p for p in phrases if not in_eval(p) and normalize(p) not in held)
    held_out = tuple(p for p in phrases if in_eval(p) or normalize(p) in held)
    return train, held_out


def evaluation_phrases(kind: str) -> tuple[str, ...]:
    """The interruptions the benchmark's own tasks use (never trained on)."""
    out: list[str] = []
    try:
        from omnibench.tasks import phrases as task_phrases

        out += list(task_phrases.NOISE_STATEMENTS if kind == "noise" else task_phrases.STOP_PHRASES)
    except ImportError:
        pass
    try:
        from omnibench.data import _synth_tasks

        out += list(_synth_tasks.NOISE_STATEMENTS if kind == "noise" else _synth_tasks.STOP_PHRASES)
    except ImportError:
        pass
    return tuple(dict.fromkeys(out))


NOISE_ALL: tuple[str, ...] = _NOISE
STOP_ALL: tuple[str, ...] = _STOP
NOISE_TRAIN, NOISE_EVAL = split(_NOISE)
STOP_TRAIN, STOP_EVAL = split(_STOP)
