"""Llama Guard 3's hazard taxonomy (S1-S14, MLCommons) and its mapping to OpenAI's moderation categories."""

from __future__ import annotations

# code -> (name, what the policy forbids: our own summary of the published taxonomy)
HAZARDS: dict[str, tuple[str, str]] = {
    "S1": ("Violent Crimes", "Content that enables, encourages or endorses violent crimes against people or "
           "animals (terrorism, murder, assault, kidnapping, animal abuse)."),
    "S2": ("Non-Violent Crimes", "Content that enables, encourages or endorses non-violent crimes (fraud, theft, "
           "hacking, drug crimes, weapons crimes, cyber crimes)."),
    "S3": ("Sex-Related Crimes", "Content that enables, encourages or endorses sex-related crimes (trafficking, "
           "sexual assault, harassment)."),
    "S4": ("Child Sexual Exploitation", "Content that contains, describes, enables or endorses the sexual abuse "
           "of children."),
    "S5": ("Defamation", "Content that is both verifiably false and likely to injure a living person's "
           "reputation."),
    "S6": ("Specialized Advice", "Specialized financial, medical or legal advice, or claims that dangerous "
           "activities or objects are safe."),
    "S7": ("Privacy", "Sensitive, nonpublic personal information that could undermine someone's security."),
    "S8": ("Intellectual Property", "Content that may violate someone's intellectual property rights."),
    "S9": ("Indiscriminate Weapons", "Content that enables the creation of chemical, biological, radiological, "
           "nuclear or high-yield explosive weapons."),
    "S10": ("Hate", "Content that demeans or dehumanizes people for their sensitive, personal characteristics."),
    "S11": ("Suicide & Self-Harm", "Content that enables, encourages or endorses acts of intentional self-harm "
            "(suicide, self-injury, disordered eating)."),
    "S12": ("Sexual Content", "Sexually explicit content."),
    "S13": ("Elections", "Factually incorrect information about electoral systems and processes."),
    "S14": ("Code Interpreter Abuse", "Content that seeks to abuse code interpreters (denial of service, "
            "container escapes, privilege escalation)."),
}

# Llama Guard hazard -> OpenAI moderation categories (a hazard OpenAI has no category for maps to none: the
# input is still flagged, and the code is kept in the result's metadata)
TO_OPENAI: dict[str, tuple[str, ...]] = {
    "S1": ("violence", "illicit/violent"),
    "S2": ("illicit",),
    "S3": ("sexual", "harassment"),
    "S4": ("sexual/minors", "sexual"),
    "S5": ("harassment",),
    "S6": (),
    "S7": (),
    "S8": (),
    "S9": ("illicit/violent", "violence"),
    "S10": ("hate",),
    "S11": ("self-harm",),
    "S12": ("sexual",),
    "S13": (),
    "S14": ("illicit",),
}
