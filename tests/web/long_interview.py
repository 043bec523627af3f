"""A 49-turn peer-support interview (25 interviewer turns, 24 answers): the length at which the review page
became one 18,000 px scroll. Written for the tests; the answers mix codable talk with the short replies
("Yeah.", "A bit wobbly.") that real transcripts are full of."""

QUESTIONS = [
    "Can you tell me how you first met your peer worker?",
    "What did you do together in the first few weeks?",
    "How did that feel?",
    "Did she help with anything practical?",
    "And how did that go?",
    "Did you set any goals together?",
    "How did you keep track of them?",
    "What happened when things got difficult?",
    "Did she share her own experiences?",
    "How did that affect you?",
    "Were there times you disagreed?",
    "What about your family?",
    "Did you try anything new?",
    "How were you feeling around then?",
    "Did the peer worker talk about medication?",
    "What about sleep?",
    "How did the sessions end?",
    "Did anything change at home?",
    "Who else supported you?",
    "Was there anything that did not help?",
    "How do you feel now?",
    "What would you tell someone starting with a peer worker?",
    "Is there anything you would change?",
    "Anything else you want to add?",
    "Thank you, that's everything.",
]
ANSWERS = [
    "She came to the ward the week before I was discharged. She said she had been in hospital herself.",
    "We went for walks by the canal. Yeah. She suggested we go twice a week so I had something to get up for.",
    "A bit wobbly. But I felt safe with her and I could tell her anything without being judged.",
    "She came with me to the housing office and helped me fill in the forms. We sorted the council tax letter too.",
    "It went fine. The housing officer listened because she was there with me.",
    "We set a goal that I would get out of the house twice a week. Then we made it three times.",
    "I wrote it in a little diary and we looked at it together each Monday.",
    "When I missed a week we worked out what got in the way and planned around it. She never made me feel bad.",
    "She told me about her own time in hospital, and that made me feel less alone.",
    "It showed me that people do get better. Mm.",
    "Sometimes, yeah. She would say what she thought and then let me decide.",
    "She encouraged me to ring my sister again after a long time. My sister was really pleased to hear from me.",
    "We went to a gardening group at the community centre. I still go on Thursdays.",
    "Up and down. Some days I did not want to open the door.",
    "She said to talk to my doctor before changing anything, and came with me to the appointment.",
    "She suggested I stop drinking coffee after lunch and keep my phone out of the bedroom.",
    "We tapered off slowly, every other week at the end, so it was not a shock.",
    "I cleared the front room so I had somewhere to sit that was not my bed.",
    "My neighbour checks in now, and the gardening group have a chat group.",
    "The forms at the job centre were still a nightmare. Not really her fault.",
    "Much better. I have a routine and people around me.",
    "Just go with it, and be honest with them because they have been there.",
    "More sessions at the start, maybe. Okay.",
    "No. That's it really.",
]


def long_interview() -> str:
    """The interview as text, one 'Speaker: words' line per turn: 49 turns."""
    lines = []
    for n, question in enumerate(QUESTIONS):
        lines.append(f"Interviewer: {question}")
        if n < len(ANSWERS):
            lines.append(f"SP7: {ANSWERS[n]}")
    return "\n".join(lines) + "\n"
