"""A handful of transcripts coded with plain `bcttv1` for the discovery page and CLI tests: relational
sentences (the peer worker who has been there) mixed with ordinary talk on the weather, pets, food and
getting about, which no BCT explains, so a run finds a few candidates in a second or two. Food has ten
sentences: the technique gate shows a code on a few of them ("She baked a chocolate cake for my birthday"
sounds like support), and the rest must still make a candidate of their own."""

RELATIONAL = [
    "She'd been through it herself, so I didn't have to explain.",
    "He had been in the same place as me, so he just understood.",
    "Because she had lived it too, I never felt judged.",
    "Knowing he had struggled like me made me trust him straight away.",
    "She was like a friend who had walked the same road.",
    "I could tell her anything because she had been there herself.",
    "He never looked down on me, we were equals.",
    "She understood what it feels like because she went through it too.",
    "He'd sat where I was sitting, so there was no need to pretend.",
    "She had the same diagnosis years ago, so she got it without me saying.",
    "It felt different talking to someone who had lived through the same thing.",
    "He'd been on the wards himself, so I knew he wasn't just reading from a script.",
    "With her it was two people who had both been there, not a professional and a patient.",
    "She knew the dark days from the inside, so I could be honest.",
]
WEATHER = [
    "The rain didn't stop all week.",
    "It was freezing cold on Tuesday morning.",
    "The sun finally came out at the weekend.",
    "There was a storm and the wind blew the fence down.",
    "It snowed heavily over the hills last winter.",
    "The weather has been grey and wet for days.",
    "We had a heatwave in July and it was too hot to sleep.",
]
PETS = [
    "My dog keeps chewing the sofa cushions.",
    "The cat sleeps on my bed every night.",
    "We took the puppy to the vet for his jabs.",
    "My budgie sings whenever the radio is on.",
    "The dog barks at the postman every single morning.",
    "Our cat brought a mouse into the kitchen.",
    "I walk the dog by the canal before breakfast.",
]
FOOD = [
    "We had fish and chips on Friday night.",
    "My mum makes the best roast dinner on Sundays.",
    "I cooked a big pot of chicken curry for everyone.",
    "We ordered pizza and watched a film.",
    "She baked a chocolate cake for my birthday.",
    "I had beans on toast for tea again.",
    "We went out for a curry on the high street.",
    "I had a bacon sandwich and a mug of tea for breakfast.",
    "We always have spaghetti on a Wednesday.",
    "The chip shop on the corner does a good pie.",
]
GROUPS = [RELATIONAL, WEATHER, PETS, FOOD]
TRANSCRIPTS = 3


def turns(n: int) -> list[dict]:
    """Transcript n (0..2): every third sentence of each group, each answer after an interviewer's prompt."""
    role, label = ("peer_worker", f"PW{n}") if n % 2 else ("supported_peer", f"SP{n}")
    out = []
    for text in (t for group in GROUPS for t in group[n::TRANSCRIPTS]):
        out += [{"speaker": "Interviewer", "text": "Can you tell me more about that?"},
                {"speaker": label, "role": role, "text": text}]
    return out


def text(n: int) -> str:
    """Transcript n as a plain-text file with speaker labels (for `autocoder import`)."""
    return "".join(f"{t['speaker']}: {t['text']}\n" for t in turns(n))
