//! Normalization and tokenization: request text -> tokens, each a corrected lower-case word or a
//! checked value (phone number, URL, id, duration...). Values keep the case they were written
//! in (URLs and ids are case-sensitive); words are lower-cased and spelling-corrected.

use std::time::Duration;

use super::fuzzy;
use super::values::{self, Bad, BadKind};

/// Longer requests are refused before any work (no request to an operations tool is this long).
pub(super) const MAX_CHARS: usize = 2000;

/// One token and the text it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Token {
    /// What it is.
    pub(super) tok: Tok,
    /// As written (after normalization), for questions and candidates.
    pub(super) raw: String,
}

/// What a token is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Tok {
    /// A lower-case word, spelling-corrected.
    Word(String),
    /// Up to six digits: an area code, a count, an amount of time.
    Num(String),
    /// A phone number in E.164, or why what looked like one is not.
    Phone(Result<String, Bad>),
    /// A `PN...` phone number SID.
    NumberSid(String),
    /// A URL, or why what looked like one is not.
    Url(Result<String, Bad>),
    /// A Stripe webhook endpoint id, or why a `we_...` is not one.
    Endpoint(Result<String, Bad>),
    /// An id of something no operation acts on (`ch_...`, `SM...`), and what it is.
    Foreign(&'static str),
    /// A Stripe event type.
    EventType(String),
    /// An OpenAI model name.
    Model(String),
    /// A compact duration (`6h`), or why it is not usable.
    Duration(Result<Duration, Bad>),
    /// Text in double quotes (a message body).
    Quoted(String),
    /// A comma or semicolon.
    Sep,
    /// Anything else.
    Other(String),
}

impl Token {
    fn new(tok: Tok, raw: &str) -> Token {
        Token {
            tok,
            raw: raw.to_owned(),
        }
    }

    /// The word, if it is one.
    pub(super) fn word(&self) -> Option<&str> {
        match &self.tok {
            Tok::Word(w) => Some(w),
            _ => None,
        }
    }
}

/// Maps typographic quotes, dashes, full-width digits and odd spaces to ASCII, and drops
/// invisible characters.
pub(super) fn normalize(text: &str) -> String {
    text.chars()
        .filter_map(|c| match c {
            '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}' | '\u{2032}' | '\u{02BC}' | '`'
            | '\u{00B4}' => Some('\''),
            '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{201F}' | '\u{2033}' | '\u{00AB}'
            | '\u{00BB}' => Some('"'),
            '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE63}' | '\u{FF0D}' => Some('-'),
            '\u{FF0B}' => Some('+'),
            '\u{FF10}'..='\u{FF19}' => char::from_u32(u32::from(c) - 0xFF10 + u32::from('0')),
            '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}' => None,
            c if c.is_whitespace() || c.is_control() => Some(' '),
            c => Some(c),
        })
        .collect()
}

/// Splits normalized text into tokens.
pub(super) fn tokenize(text: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    for (quoted, segment) in quote_segments(text) {
        let content = segment.trim();
        if quoted && content.split_whitespace().nth(1).is_some() {
            tokens.push(Token::new(
                Tok::Quoted(content.to_owned()),
                &format!("\"{content}\""),
            ));
        } else {
            tokens.extend(tokenize_plain(content));
        }
    }
    tokens
}

/// Text outside and inside double quotes, in order; an unbalanced quote is ignored.
pub(super) fn quote_segments(text: &str) -> Vec<(bool, &str)> {
    let parts: Vec<&str> = text.split('"').collect();
    let balanced = parts.len() % 2 == 1;
    let last = parts.len().saturating_sub(1);
    parts
        .into_iter()
        .enumerate()
        .map(|(i, p)| (i % 2 == 1 && (balanced || i != last), p))
        .collect()
}

/// A piece of text between spaces and separators, before it is classified.
#[derive(Debug)]
enum Piece<'a> {
    Text(&'a str),
    Sep,
}

/// Tokens of text without quotes.
fn tokenize_plain(text: &str) -> Vec<Token> {
    let pieces = pieces(text);
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < pieces.len() {
        match pieces[i] {
            Piece::Sep => {
                tokens.push(Token::new(Tok::Sep, ","));
                i += 1;
            }
            Piece::Text(p) if is_phoneish(p) => {
                let end = phone_group_end(&pieces, i);
                tokens.extend(phone_group(&pieces[i..end]));
                i = end;
            }
            Piece::Text(p) => {
                tokens.extend(classify(p));
                i += 1;
            }
        }
    }
    tokens
}

/// Splits on spaces, then on commas and semicolons (not inside URLs), trimming punctuation.
fn pieces(text: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    for chunk in text.split_whitespace() {
        if chunk.contains("://") {
            push_trimmed(&mut out, chunk);
            continue;
        }
        let mut first = true;
        for part in chunk.split([',', ';']) {
            if !first {
                out.push(Piece::Sep);
            }
            first = false;
            push_trimmed(&mut out, part);
        }
    }
    out
}

fn push_trimmed<'a>(out: &mut Vec<Piece<'a>>, part: &'a str) {
    let t = trim_piece(part);
    if !t.is_empty() {
        out.push(Piece::Text(t));
    }
}

/// Strips brackets, quotes and sentence punctuation around a piece, and a possessive `'s`.
fn trim_piece(p: &str) -> &str {
    const LEADING: &[char] = &['(', '[', '{', '<', '\'', '*'];
    const TRAILING: &[char] = &[')', ']', '}', '>', '\'', '.', '!', '?', ':', '*'];
    let mut t = p.trim_start_matches(LEADING).trim_end_matches(TRAILING);
    if let Some(s) = t.strip_suffix("'s").or_else(|| t.strip_suffix("'S")) {
        t = s.trim_end_matches(TRAILING);
    }
    t
}

/// Whether a piece is (part of) a phone number: digits and `+ ( ) - .` only.
fn is_phoneish(p: &str) -> bool {
    let digits = p.chars().filter(char::is_ascii_digit).count();
    digits > 0
        && p.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | '(' | ')' | '-' | '.'))
        && !p.get(1..).is_some_and(|rest| rest.contains('+'))
        && (!p.contains('.') || digits >= 6)
}

fn digit_count(p: &Piece<'_>) -> usize {
    match p {
        Piece::Text(t) => t.chars().filter(char::is_ascii_digit).count(),
        Piece::Sep => 0,
    }
}

/// Where the phone number starting at `start` ends: pieces are joined ("+1 (415) 555 0100")
/// until the number is complete, the next piece is a whole number itself, or a `+` starts a
/// new one.
fn phone_group_end(pieces: &[Piece<'_>], start: usize) -> usize {
    let Some(Piece::Text(first)) = pieces.get(start) else {
        return start + 1;
    };
    let plus = first.starts_with('+');
    let mut digits: String = first.chars().filter(char::is_ascii_digit).collect();
    let first_is_whole = digits.len() >= 7;
    let mut end = start + 1;
    while let Some(Piece::Text(next)) = pieces.get(end) {
        if !is_phoneish(next) || next.starts_with('+') || first_is_whole {
            break;
        }
        let complete = digits.len() >= 15
            || (digits.starts_with('1') && digits.len() >= 11)
            || (!plus && !digits.starts_with('1') && digits.len() >= 10);
        let n = digit_count(&Piece::Text(next));
        if complete || (n >= 10 && digits.len() > 3) || digits.len() + n > 15 {
            break;
        }
        digits.extend(next.chars().filter(char::is_ascii_digit));
        end += 1;
    }
    end
}

/// Tokens of a group of phone-like pieces: one phone number, or plain numbers when it is too
/// short to be one ("415", "(415)", "2").
fn phone_group(group: &[Piece<'_>]) -> Vec<Token> {
    let texts: Vec<&str> = group
        .iter()
        .filter_map(|p| match p {
            Piece::Text(t) => Some(*t),
            Piece::Sep => None,
        })
        .collect();
    let digits: usize = group.iter().map(digit_count).sum();
    let plus = texts.first().is_some_and(|t| t.starts_with('+'));
    if digits <= 6 && !plus {
        return texts.iter().map(|t| small_number(t)).collect();
    }
    let raw = texts.join(" ");
    vec![Token::new(Tok::Phone(values::e164(&raw)), &raw)]
}

/// A short run of digits: a plain number when it is only digits (brackets allowed).
fn small_number(t: &str) -> Token {
    let inner = t.trim_matches(['(', ')']);
    if !inner.is_empty() && inner.chars().all(|c| c.is_ascii_digit()) {
        Token::new(Tok::Num(inner.to_owned()), t)
    } else {
        Token::new(Tok::Other(t.to_owned()), t)
    }
}

/// Tokens as written, spaced again: the text of a clause or of a request made from some of
/// its tokens.
pub(super) fn join_raw<'a>(tokens: impl IntoIterator<Item = &'a Token>) -> String {
    let mut text = String::new();
    for t in tokens {
        if t.raw.is_empty() {
            continue;
        }
        if !text.is_empty() && t.tok != Tok::Sep {
            text.push(' ');
        }
        text.push_str(&t.raw);
    }
    text
}

/// Classifies a piece that is not a phone number.
fn classify(p: &str) -> Vec<Token> {
    if p == "&" || p == "+" {
        return vec![Token::new(Tok::Word("and".into()), p)];
    }
    if let Some(tok) = classify_value(p) {
        return vec![Token::new(tok, p)];
    }
    if is_wordlike(p) {
        // Only the first word of "rate-limit" carries the text, so that joining raws
        // gives back the request.
        return words(p)
            .into_iter()
            .enumerate()
            .map(|(i, w)| Token::new(Tok::Word(w), if i == 0 { p } else { "" }))
            .collect();
    }
    vec![Token::new(Tok::Other(p.to_lowercase()), p)]
}

/// A value token, if the piece is one.
fn classify_value(p: &str) -> Option<Tok> {
    if p.contains("://") {
        return Some(Tok::Url(values::url(p)));
    }
    if let Some(what) = values::foreign_id(p) {
        return Some(Tok::Foreign(what));
    }
    if p.get(..3).is_some_and(|s| s.eq_ignore_ascii_case("we_")) {
        return Some(Tok::Endpoint(values::endpoint_id(p)));
    }
    if let Some(sid) = values::number_sid(p) {
        return Some(Tok::NumberSid(sid));
    }
    if is_bad_sid(p) {
        return Some(Tok::Phone(Err(Bad::new(
            BadKind::Number,
            format!("\"{p}\" is not a phone number SID (PN followed by 32 hex digits)"),
        ))));
    }
    let lower = p.to_lowercase();
    if let Some(d) = values::compact_duration(&lower) {
        return Some(Tok::Duration(d));
    }
    if values::is_model(&lower) {
        return Some(Tok::Model(lower));
    }
    if values::is_event_type(&lower) {
        return Some(Tok::EventType(lower));
    }
    if values::looks_like_bare_url(p) {
        return Some(Tok::Url(values::url(p)));
    }
    None
}

/// `PN` and letters and digits, with a digit, that is not a valid SID.
fn is_bad_sid(p: &str) -> bool {
    p.strip_prefix("PN").is_some_and(|rest| {
        rest.chars().all(|c| c.is_ascii_alphanumeric()) && rest.chars().any(|c| c.is_ascii_digit())
    })
}

/// Letters, with apostrophes and hyphens inside.
fn is_wordlike(p: &str) -> bool {
    p.chars().any(char::is_alphabetic)
        && p.chars()
            .all(|c| c.is_alphabetic() || c == '\'' || c == '-')
}

/// The corrected words of a word-like piece: apostrophes dropped ("what's" -> "whats"),
/// hyphens split ("rate-limit") except after "re" ("re-enable" -> "reenable").
fn words(p: &str) -> Vec<String> {
    let lower = p.to_lowercase().replace('\'', "");
    let mut parts: Vec<String> = lower
        .split('-')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if parts.len() > 1 && parts[0] == "re" {
        let second = parts.remove(1);
        parts[0].push_str(&second);
    }
    parts
        .into_iter()
        .map(|w| fuzzy::correct(&w).map_or(w, str::to_owned))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        tokenize(&normalize(s)).into_iter().map(|t| t.tok).collect()
    }

    fn word(w: &str) -> Tok {
        Tok::Word(w.into())
    }

    #[test]
    fn normalization_maps_typography_to_ascii() {
        assert_eq!(
            normalize("what\u{2019}s \u{201C}up\u{201D}\u{00A0}\u{2014} \u{FF0B}\u{FF11}\u{200B}"),
            "what's \"up\" - +1"
        );
    }

    #[test]
    fn phone_numbers_are_joined_and_normalized() {
        let n = |s: &str| Tok::Phone(Ok(s.into()));
        assert_eq!(toks("+1 (415) 555-0100"), vec![n("+14155550100")]);
        assert_eq!(toks("(415) 555-0100."), vec![n("+14155550100")]);
        assert_eq!(
            toks("+14155550100 +14155550101"),
            vec![n("+14155550100"), n("+14155550101")]
        );
        assert_eq!(
            toks("4155550100 4155550101"),
            vec![n("+14155550100"), n("+14155550101")]
        );
        assert_eq!(
            toks("+14155550100, +14155550101"),
            vec![n("+14155550100"), Tok::Sep, n("+14155550101")]
        );
        assert_eq!(toks("+44 20 7946 0958"), vec![n("+442079460958")]);
        assert_eq!(toks("+14155550100's"), vec![n("+14155550100")]);
    }

    #[test]
    fn short_numbers_stay_numbers() {
        assert_eq!(
            toks("in 415 for 6 hours"),
            vec![
                word("in"),
                Tok::Num("415".into()),
                word("for"),
                Tok::Num("6".into()),
                word("hours")
            ]
        );
        assert_eq!(toks("(415)"), vec![Tok::Num("415".into())]);
        assert!(matches!(toks("+1234").as_slice(), [Tok::Phone(Err(_))]));
    }

    #[test]
    fn values_keep_their_case_and_words_are_corrected() {
        assert_eq!(
            toks("Set TWILLIO url to https://Example.com/Sms."),
            vec![
                word("set"),
                word("twilio"),
                word("url"),
                word("to"),
                Tok::Url(Ok("https://Example.com/Sms".into()))
            ]
        );
        assert_eq!(toks("we_1AbC"), vec![Tok::Endpoint(Ok("we_1AbC".into()))]);
        assert_eq!(toks("GPT-4o"), vec![Tok::Model("gpt-4o".into())]);
        assert_eq!(
            toks("re-enable rate-limit what's don't"),
            vec![
                word("reenable"),
                word("rate"),
                word("limit"),
                word("what"),
                word("dont")
            ]
        );
        assert_eq!(toks("ch_1"), vec![Tok::Foreign("charge")]);
    }

    #[test]
    fn quotes_make_a_body_or_are_dropped() {
        assert_eq!(
            toks("say \u{201C}hello there\u{201D} to"),
            vec![word("say"), Tok::Quoted("hello there".into()), word("to")]
        );
        assert_eq!(
            toks("\"https://x.io/a\""),
            vec![Tok::Url(Ok("https://x.io/a".into()))]
        );
        assert_eq!(toks("a \" b"), vec![word("a"), word("b")]);
    }
}
