//! The function words that shape a sentence rather than name a thing: conjunctions between
//! requests, leading fillers, negations and halts, states and their adverbs, auxiliaries,
//! politeness, subjects, the leads of a question and words of doubt.
/// Words that join two requests ("buy a number and disable the endpoint").
pub(in crate::intent) const CONJUNCTIONS: &[&str] = &["and", "then", "also", "plus", "afterwards"];

/// Words that may come before the verb of an imperative ("please", "can you").
pub(in crate::intent) const LEADING_FILLERS: &[&str] = &[
    "please", "pls", "plz", "can", "could", "would", "will", "you", "i", "want", "wanna", "to",
    "need", "like", "lets", "let", "us", "go", "ahead", "hey", "hi", "hello", "ok", "okay", "now",
    "just", "apiops", "kindly", "and", "then", "also", "quickly", "me", "d", "id",
];

/// Words that say not to do something ("don't", "never", "no need to"), as the tokenizer leaves
/// them (apostrophes dropped). Any other word written with "n't" is one too.
pub(in crate::intent) const NEGATIONS: &[&str] = &[
    "not",
    "no",
    "never",
    "nevermind",
    "nope",
    "nah",
    "dont",
    "donot",
    "dnt",
    "nvm",
    "doesnt",
    "didnt",
    "shouldnt",
    "shant",
    "wont",
    "wouldnt",
    "cant",
    "cannot",
    "couldnt",
    "mustnt",
    "neednt",
    "isnt",
    "arent",
    "wasnt",
    "werent",
    "havent",
    "hasnt",
    "hadnt",
    "aint",
];

/// Verbs that say to leave an action undone ("stop sending", "avoid buying", "hold off on
/// releasing", "forget about buying").
pub(in crate::intent) const HALTS: &[&str] =
    &["stop", "avoid", "skip", "refrain", "hold", "forget"];

/// Words that, after a negation, describe a thing rather than refuse the action: "events that
/// were not delivered", "the endpoint that isn't working" (with participles in -ed). Few on
/// purpose: "don't go ahead", "don't fire off a test" refuse.
pub(in crate::intent) const STATES: &[&str] = &[
    "working",
    "responding",
    "receiving",
    "delivering",
    "arriving",
    "sent",
    "live",
    "active",
    "online",
    "valid",
    "available",
    "there",
    "arrive",
    "deliver",
    "work",
    "works",
    "succeed",
    "respond",
    "receive",
    "exist",
];

/// Words that may stand between a negation and the state it describes ("not yet delivered",
/// "never been enabled", "no longer working").
pub(in crate::intent) const STATE_ADVERBS: &[&str] = &[
    "yet",
    "been",
    "being",
    "be",
    "ever",
    "even",
    "currently",
    "properly",
    "really",
    "successfully",
    "correctly",
    "always",
    "fully",
    "actually",
    "longer",
    "get",
    "got",
    "gotten",
    "getting",
];

/// Auxiliaries that open a question when a subject follows ("should I", "is it", "do we").
pub(in crate::intent) const AUXILIARIES: &[&str] = &[
    "should", "shall", "ought", "can", "could", "may", "might", "must", "would", "will", "do",
    "does", "did", "is", "are", "am", "was", "were",
];

/// Auxiliaries that, before "you", make a polite imperative ("can you buy ...") rather than a
/// question.
pub(in crate::intent) const POLITE: &[&str] = &["can", "could", "would", "will"];

/// Subjects of a question ("should I", "is it", "would this").
pub(in crate::intent) const SUBJECTS: &[&str] = &[
    "i", "we", "you", "u", "it", "this", "that", "there", "they", "he", "she", "someone",
];

/// Words that, before the action, make it a question ("what happens if I disable ...", "how
/// do I buy ...", "I wonder whether to ...").
pub(in crate::intent) const QUESTION_LEADS: &[&str] = &[
    "what",
    "whats",
    "how",
    "whether",
    "wonder",
    "wondering",
    "happens",
];

/// Words that, anywhere, weigh the action rather than order it ("should we ...", "is it safe
/// to ...", "releasing it would be a bad idea", "maybe disable ...").
pub(in crate::intent) const DOUBTS: &[&str] = &[
    "should",
    "shall",
    "ought",
    "safe",
    "allowed",
    "worth",
    "wise",
    "idea",
    "advisable",
    "risky",
    "dangerous",
    "reversible",
    "maybe",
    "perhaps",
];
