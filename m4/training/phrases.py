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

import functools
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
    # remembering and narrating one's own day (what OmniMMI's turn-taking remarks sound like)
    "I remember leaving the scissors on the kitchen table.", "I think I put the spare keys in the blue drawer.",
    "This morning I fed the fish and then forgot my lunch.", "Earlier I saw a man in a red jacket walking two dogs.",
    "I'm pretty sure I locked the car, well, mostly sure.", "Yesterday I moved the lamp next to the bookshelf.",
    "I left my scarf at the cinema, I bet.", "We painted the fence green last spring.",
    "I recall the waiter had a funny little moustache.", "The last time I was here it was pouring with rain.",
    "I put the groceries away, except the eggs.", "My grandmother used to bake on Sundays.",
    # describing or reacting to a screen, to nobody in particular
    "The colours on this screen are a bit washed out.", "That looks like a park in the spring.",
    "Some kind of cartoon, by the look of it.", "The lighting in this clip is really moody.",
    "Looks like a busy market with lots of stalls.", "That building has a strange roof.",
    "The guy in the background keeps waving.", "It's one of those cooking videos again.",
    "Pretty shaky camera work, honestly.", "I like how the sky turns orange there.",
    "Reminds me of a documentary I once saw.", "That dog in the corner is adorable.",
    # acknowledgements and fillers that expect nothing back
    "Uh-huh, sure.", "I see, I see.", "Mhm.", "Yep.", "Totally.", "Fair point.", "True, true.", "Oh, right.",
    "Ah, I see.", "Hm, fair.", "No kidding.", "Go figure.", "Figures.", "Huh, neat.", "Oh, wow.", "Hah, classic.",
    "Yup, yup.", "Guess so.", "Maybe.", "Possibly.", "Could be.", "Kind of, yeah.", "Whatever works.", "Meh.",
    "Oh, nice one.", "Well, okay.", "Sure, why not.", "I mean, yeah.", "Right on.", "Sounds good to me.",
    # musings and opinions
    "Life is funny that way.", "You win some, you lose some.", "Things always work out in the end, I suppose.",
    "Not my cup of tea, but fine.", "Some days are just like that.", "I guess that's how it goes.",
    "It'll be fine, probably.", "Easy come, easy go.", "Such is life.", "Can't complain, really.",
    "I've always liked rainy afternoons.", "People are strange sometimes.", "Every year the summer gets hotter.",
    "I should write that down somewhere, some day.", "One of these days I'll learn to cook properly.",
    # talking to people and pets around
    "Rex, drop the sock!", "Lily, your lunchbox is on the counter.", "Sweetheart, the bath is ready.",
    "Carlos, did you take my charger?", "Emma, the taxi is outside.", "Boys, shoes off in the hall, please.",
    "Nana, do you want more soup?", "Pete, turn left at the lights.", "Yes, Mum, I'm eating properly.",
    "Coming, coming, one minute, Jo!", "Can you hand me that towel, love?", "Hey Sam, nice haircut.",
    "Thanks, Aunt May, it's delicious.", "Good boy, Buddy, good boy.", "Misty, get off the table!",
    "No, Timmy, we're not buying that.", "Over here, Anna, I saved you a seat.", "Dad, the game's on.",
    "Okay kids, five more minutes of cartoons.", "Sara, could you check the oven for me?",
    # phone and chat asides
    "Hello? Yeah, I'm at home.", "Sorry, my mum is calling, one sec.", "Oh, it's a text from work.",
    "Yes, I'll be there by six.", "No, I said the Italian place.", "Tell him I'll call back.",
    "Ugh, another spam call.", "My battery is at five percent.", "The group chat is blowing up again.",
    # everyday complaints and observations
    "The toast is burnt again.", "Why is the heating always off when I need it?", "My shoes are soaked.",
    "This pen doesn't work.", "The neighbour's dog is barking nonstop.", "The cake didn't rise at all.",
    "I can't find the remote anywhere.", "Someone ate my yoghurt.", "The train is late, as usual.",
    "My eyes are so tired today.", "I really need new glasses.", "The shower is freezing this morning.",
    "I'm out of shampoo.", "The sink is blocked again.", "I spilled coffee on my notes.",
    "The supermarket was packed.", "The lift is broken again.", "This jumper is way too itchy.",
    # work, school, plans
    "I have a dentist appointment on Thursday.", "My essay is due next week.", "The boss wants the figures by noon.",
    "I'm thinking of taking Friday off.", "We're going camping in August.", "My cousin's wedding is in June.",
    "I signed up for a pottery class.", "The gym was empty this morning.", "I should call the plumber.",
    "My flight leaves at six tomorrow.", "Need to renew my library card.", "The car insurance is due.",
    # longer, rambling remarks
    "I was going to bake bread this weekend, but honestly I'll probably just buy some at the corner shop.",
    "My brother keeps sending me videos of his cat, and every single one is the cat sleeping somewhere odd.",
    "When we moved into this flat the walls were bright yellow, and it took three coats to cover it.",
    "The thing with gardening is you plant something and then just hope for the best, really.",
    "I've been trying to drink less coffee, which is going about as well as you'd think.",
    "There was a street musician near the station playing the same song for an hour this morning.",
    "I keep meaning to sort out the photos on my phone, there must be ten thousand of them.",
    "It's strange how a smell can bring back a whole summer from when you were a kid.",
    # formal, considered remarks
    "The minutes from the last meeting have been circulated.", "I believe the invoice was settled in March.",
    "The renovation should be completed by the end of the quarter.", "Our guests are expected around seven.",
    "I have noted the change in the schedule.", "The parcel was delivered to the neighbour.",
    # hard negatives: words of stopping, waiting or quiet said about something else
    "The bus didn't even stop for me.", "Wait until you hear what happened at work.", "That's enough sugar for my tea.",
    "Hold the elevator, please, Martin!", "The music stopped next door, finally.", "Quiet mornings are the best.",
    "My watch stopped again, I need a new battery.", "Pause the movie, Jess, I need the loo.",
    "The kids finally went quiet upstairs.", "I'll stop at the pharmacy on the way back.",
    "The rain stopped just in time.", "Enough about me, how was your trip, Mia?",
    "Hang the picture a bit higher, Tom.", "I can't wait for the holidays.", "Stop worrying, Jen, it'll be fine.",
    "Kids, that's enough screen time for today.", "That film had a silent ending, didn't it?",
    "We waited ages for the bus.", "The shop ran out of bread, enough said.", "Hold still, Molly, I'm doing your hair.",
    "Cut the onions smaller next time, Ed.", "The concert ended late last night.",
    # go on: the answer must continue (stop-turn lures, train side)
    "Keep it coming.", "Carry on, carry on.", "Yes, go ahead with that.", "Mhm, continue.",
    "Please don't let me interrupt you.", "No need to stop for me.", "Sorry, ignore me, keep talking.",
    "Don't mind me, go ahead.", "Oh that's good, keep at it.", "I'm all ears, continue.",
    "Whatever you do, don't stop.", "Stopping? No, finish the thought.", "Waiting is fine, go on anyway.",
    # about the screen, question-shaped, to nobody in particular (noise-rejection lures, train side)
    "Look at that thing wobble, huh?", "Pretty shapes, aren't they, Omar?", "Is that square supposed to spin?",
    "Mira, did you pick these colours?", "What a weird little clip, right?", "Who made this animation, Theo?",
    "Is the red one new, Ana?", "Ooh, what's that blob doing, I wonder?", "Does anyone else find this soothing?",
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
    "Could you stop for a second?", "Would you please stop?",
    "Hold on, let me think.", "Hold on, stop there.", "Hold on a second, please.", "Just hold on.", "Hold it, please.",
    "Wait.", "Wait, please stop.", "Wait a minute.", "Wait, wait, wait.", "Just wait.", "Hang on a minute.",
    "Hang on, hang on.", "Halt, please.", "Halt right there.", "That'll be all.",
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
    "Knock it off.", "No, stop.", "Nope, stop.", "Stop, that's it.", "I'm good, stop.",
    "Understood, stop there.", "Stop, my phone is ringing.", "Stop, someone's at the door.",
    "Ugh, stop, I'm tired.", "Wow, okay, stop talking.", "Hmm, stop for a moment.", "Sorry, stop, I need to go.",
    # asking politely
    "Could you stop there, please?", "Would you mind stopping?", "Can you pause for a moment?", "Mind stopping there?",
    "I'd like you to stop now.", "If you could stop, that would be great.", "Can we pause here?",
    "Please hold off for a moment.", "Would you stop talking for a second?", "Sorry to interrupt, but please stop.",
    "Excuse me, could you stop?", "Pardon me, please stop.", "Can you be quiet for a moment, please?",
    "May I ask you to stop?", "Would you pause, please?", "Could you hold it there?",
    # curt
    "Quit it.", "Shush now.", "Shut it.", "Pipe down.", "Not now.", "Freeze.",
    "Okay, done.", "Done, stop.", "Stop that.", "Stop it, please.", "Stop, okay?",
    # having heard enough
    "That's all I wanted to hear.", "I've heard all I need.", "Great, that's enough.",
    "Fine, I understand, stop.", "Good, that answers it, stop there.",
    "I know enough now, thanks.", "Understood, that's plenty.", "Yep, that's all, thanks.",
    "Thanks, that's plenty.", "Okay, that's enough info.", "Got the gist, stop.", "I've got it from here.",
    "Cool, that's enough.", "Great, stop there.", "That's enough for me.",
    # holding and waiting
    "One second, stop.", "Give me a second, stop talking.", "Just a moment, please stop.", "Hold off for now.",
    "Pause a moment.", "Wait there.", "Wait up, stop.", "Hold on, hold on.", "Hang on, please stop.",
    "Wait a bit, stop talking.", "Hold it a sec.", "Stop for a minute.", "Pause right there.", "Hold everything.",
    # silence
    "Go quiet for a bit.", "No talking for now.", "Silence for a moment, please.", "Please stay quiet.",
    "Be quiet for a sec.", "Quiet down now.", "Shh, no more talking.", "Hush for a moment.", "Keep silent, please.",
    "Shh shh shh.", "Quiet, quiet.", "Stop making noise.",
    # ending the answer
    "End your answer there.", "Finish up now.", "Wind it down, please.", "Time's up, stop.", "That's a wrap.",
    "Let's close it there.", "You can be done now.", "End it now.", "Finish there, please.", "Let's end there.",
    "Stop the answer there.", "That's where you stop.", "No more detail, please.", "Skip the details, stop.",
    "You can leave it at that.", "Leave it at that.", "Let's leave it at that, thanks.", "Conclude there.",
    # informal
    "Nah, stop.", "Dude, stop.", "Okay, chill, stop.", "Bro, enough.", "Ok ok ok, stop.", "Yeah no, stop.",
    "Ugh, enough already.", "Cool, stop there.", "Sweet, that's enough.", "Okay, I'm good.", "Nope, enough.",
    "Alright alright, stop.", "Yeah, yeah, stop.", "Lol, stop.", "Whoa, stop.", "Whoa, whoa, enough.",
    # with a reason
    "Stop, I'm on the phone.", "Stop, the baby's sleeping.", "Please stop, I can't hear the video.",
    "Stop, I want to hear this part.", "Stop for a moment, I'm confused.", "Stop, I need to write that down.",
    "Stop, my boss just walked in.", "Stop, I have to take this call.", "Please stop, I'm busy right now.",
    "Stop, I'll ask again later.", "Stop talking, I'm trying to concentrate.", "Stop, I want to see it myself.",
    "Stop, too long.", "Stop, that's too much.", "Stop, I already know this.", "Stop, I'm in a meeting.",
    # formal
    "Please discontinue.", "Kindly cease speaking.", "That will suffice.", "That is sufficient.",
    "I must ask you to stop.", "Please refrain from continuing.", "You may conclude now.",
    "No further detail is required.", "That will be all, thank you.", "Please stop at this point.",
    "I would prefer you stop there.", "Please do not continue.",
    # not going on
    "Don't keep going.", "Don't bother finishing.", "No need to keep talking.", "You don't have to say any more.",
    "Please don't continue that.", "Don't go any further.", "No need to go further.", "Don't say anything else.",
    "No need for the rest.", "Forget the rest.", "Skip the rest of it.",
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
    """Every text the benchmark says as a second utterance, lures included ("noise": remarks, lures,
    follow-ups and OmniMMI's turn-taking remarks, packaged copy; "stop": stops and stop lures).

    Imported without a fallback: a guard that cannot see the benchmark's texts must fail, not pass.
    """
    from omnibench.tasks import interaction
    from omnibench.tasks import phrases as task_phrases

    if kind == "stop":
        out = [*task_phrases.STOPS, *task_phrases.STOP_LURES]
    else:
        out = [*task_phrases.NOISE, *task_phrases.NOISE_LURES, *(text for _, text in task_phrases.FOLLOWUPS),
               *interaction.omnimmi_remarks()]
    return tuple(dict.fromkeys(out))


@functools.lru_cache(maxsize=1)
def _evaluation_word_runs() -> tuple[str, ...]:
    every = {normalize(p) for kind in ("noise", "stop") for p in evaluation_phrases(kind)}
    return tuple(f" {p} " for p in every if len(p.split()) >= 3)


def wraps_evaluation_phrase(text: str) -> bool:
    """Whether `text` holds a benchmark phrase of three words or more, word for word ("Fine, that'll do.")."""
    words = f" {normalize(text)} "
    return any(run in words for run in _evaluation_word_runs())


@functools.lru_cache(maxsize=1)
def _held_out() -> frozenset[str]:
    return frozenset(normalize(p) for p in (*evaluation_phrases("noise"), *evaluation_phrases("stop"),
                                            *NOISE_EVAL, *STOP_EVAL))


def resembles_evaluation_phrase(text: str) -> bool:
    """Whether a made-up training phrase is (normalised) a benchmark or eval-part phrase, or holds a benchmark one."""
    return normalize(text) in _held_out() or wraps_evaluation_phrase(text)


NOISE_ALL: tuple[str, ...] = _NOISE
STOP_ALL: tuple[str, ...] = _STOP
NOISE_TRAIN, NOISE_EVAL = split(_NOISE)
STOP_TRAIN, STOP_EVAL = split(_STOP)
