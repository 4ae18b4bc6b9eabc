"""Hand-written keyword/regex rules (NOT machine learning) for what the profanity model cannot see.

The model in `alt-profanity-check` scores offensive *language*; threats, self-harm and weapon-making often
use none. These rules catch the plain English phrasings below, and nothing else: no paraphrase, no other
language, no context. Each rule maps to OpenAI categories. `PROTECTED_GROUPS` turns an offensive text that
names a group into `hate`; two rules find polite hate about a named group (dehumanising predicates, calls for
its death).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_I = r"\b(?:i|i'm|im|i am|i'll|ill|i will|i've|i have|we|we're|we will|we'll)\b"
_WILL = (r"(?:'ll|'m going to|'m gonna| will| am going to| am gonna| gonna| going to| want to| wanna| plan to"
         r"| am about to)")
_SELF_HARM_ACT = (
    r"(?:kill(?:ing)? my ?self|end(?:ing)? (?:my (?:own )?life|it all)|commit(?:ting)? suicide|take my (?:own )?life"
    r"|hurt(?:ing)? my ?self|cut(?:ting)? my ?self|harm(?:ing)? my ?self|hang(?:ing)? my ?self|overdose)"
)
_HARM_VERB = r"(?:kill|murder|hurt|stab|shoot|strangle|beat|rape|torture|slaughter|behead|burn|bomb|attack)"
_GROUPS = (
    r"\b(?:immigrants?|migrants?|refugees?|foreigners?|jews?|jewish|muslims?|islam|christians?|hindus?|sikhs?"
    r"|blacks?|black people|whites?|white people|asians?|latinos?|latinas?|hispanics?|arabs?|africans?"
    r"|mexicans?|chinese|indians?|gypsies|roma|gays?|lesbians?|homosexuals?|trans(?:gender)?(?: people)?"
    r"|queers?|women|woman|girls|females?|men|males?|disabled|cripples?|autistic)\b"
)
# Words naming a group people belong to by birth or belief: offensive language that names one is `hate`.
PROTECTED_GROUPS = re.compile(_GROUPS, re.IGNORECASE)


@dataclass(frozen=True)
class Rule:
    name: str
    pattern: re.Pattern[str]
    categories: tuple[str, ...]


def _rule(name: str, pattern: str, *categories: str) -> Rule:
    return Rule(name, re.compile(pattern, re.IGNORECASE), categories)


RULES: tuple[Rule, ...] = (
    # First-person intent: "I'm going to kill myself", "I want to end my life", "I will take my own life".
    _rule("self-harm-intent",
          rf"\b(?:i|i'm|im)\b{_WILL}?\s*(?:\w+\s+){{0,2}}{_SELF_HARM_ACT}"
          r"|\bi (?:just )?want to die\b|\bi(?:'m| am) (?:feeling )?suicidal\b",
          "self-harm", "self-harm/intent"),
    # Asking for means: "how do I kill myself", "painless way to die", "how many pills to overdose".
    _rule("self-harm-instructions",
          rf"\b(?:how (?:do|can|should|could) i|how to|best way to|easiest way to|quickest way to)\s+{_SELF_HARM_ACT}"
          r"|\bpainless(?:st)? ways? to (?:die|kill myself)\b"
          r"|\bhow many (?:pills|tablets|sleeping pills)\b[^.?!]{0,40}\b(?:die|overdose|kill|fatal|lethal)",
          "self-harm", "self-harm/instructions"),
    # Telling someone to kill themselves: harassment with a threat of violence.
    _rule("kill-yourself", r"\b(?:go )?kill (?:your ?self|urself)\b|\bkys\b|\bhope (?:you|u) die\b",
          "harassment", "harassment/threatening", "violence"),
    # Threats to the reader: "I will kill you", "I'm going to hurt you and your family".
    _rule("threat",
          rf"{_I}\s*{_WILL}?(?!\s*(?:not|never)\b)\s*(?:\w+\s+){{0,4}}{_HARM_VERB}\s+(?:you|u|ya|your\b|him|her|them)\b"
          rf"|\byou(?:'re| are) (?:going to|gonna) (?:die|bleed|regret)\b|\bwatch your back\b",
          "harassment", "harassment/threatening", "violence"),
    # Dehumanising a group: "<group> are vermin", "<group> are inferior and should ...".
    _rule("group-dehumanised",
          rf"{_GROUPS}\s+(?:are|r)\s+(?:all\s+|just\s+|nothing but\s+)?(?:\w+\s+)?"
          r"(?:vermin|animals|parasites|subhuman|sub-human|inferior|cockroaches|rats|scum|filth|savages|a plague"
          r"|a disease|a cancer|pigs|apes|monkeys|not human)\b",
          "hate"),
    # Calling for a group's removal or death: "<group> should be exterminated".
    _rule("group-eliminationist",
          rf"{_GROUPS}\s+(?:should|must|need to|ought to|deserve to)\s+(?:all\s+)?(?:be\s+)?"
          r"(?:exterminated|eradicated|wiped out|gassed|killed|die|hanged|shot|burned)\b",
          "hate", "hate/threatening", "violence"),
    # Asking how to make weapons that kill many: bombs, explosives, nerve agents.
    _rule("weapon-making",
          r"\b(?:how (?:do|can) i|how to|instructions? (?:for|to)|steps? to|recipe for|guide to)\s+"
          r"(?:make|build|assemble|create|cook|synthesi[sz]e|produce)\s+(?:a |an |some )?(?:homemade |home-made )?"
          r"(?:bomb|pipe ?bomb|explosives?|ied|molotov|nerve agent|sarin|ricin|napalm|thermite|grenade|anthrax)",
          "illicit", "illicit/violent", "violence"),
)

def matching_rules(text: str) -> list[Rule]:
    return [rule for rule in RULES if rule.pattern.search(text)]
