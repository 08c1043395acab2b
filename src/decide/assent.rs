//! SPEC §3 rule 8: does the approver's new text read as assent? An approval must never become a
//! rejection in the approver's name, so when in doubt the answer is yes (the bridge then refuses
//! and explains; the approver loses one more reply, nothing else).
//!
//! The text is read as the SPEC says:
//! 1. Leading emoji and punctuation are skipped, then an optional greeting line (at most eight
//!    words, the first a greeting word, skipped only when more text follows), then again emoji
//!    and punctuation.
//! 2. The first sentence runs to `.`, `!`, `?`, `;` (or their full-width forms) or the end of
//!    the line.
//! 3. It reads as assent when the whole text is only assent words and assent emoji, or the first
//!    sentence starts with an approval or assent word or phrase, or holds an approval word —
//!    and the first sentence, with its assent phrases taken out, holds no rejection word.
//!
//! One addition, in the same direction: an assent emoji in the skipped lead ("👍 Thanks") counts
//! as starting with assent.
//!
//! Words are compared in NFC and lower case, with punctuation stripped at both ends; `-` separates
//! words ("go-ahead" is "go ahead"), apostrophes inside a word stay ("d'accord", "don't", typed
//! with `'` or `’`; a single word also matches after an elision: "j'approuve"), and "+1" is a
//! word. Words written in scripts without spaces (Chinese,
//! Japanese) are matched as substrings of the sentence ("不同意" holds the rejection word 不).

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use crate::config::ApproversConfig;

/// The emoji that say yes (SPEC §3), without variation selectors or skin tones.
const ASSENT_EMOJI: &[char] = &['👍', '✅', '👌', '✔', '🆗'];

/// Sentence ends (SPEC §3), with the full-width forms Chinese and Japanese use.
const SENTENCE_ENDS: &[char] = &['.', '!', '?', ';', '。', '！', '？', '；', '\n'];

/// A greeting line has at most this many words.
const MAX_GREETING_WORDS: usize = 8;

/// Why the text reads as assent: the word, phrase or emoji that made it so. `None`: it does not.
pub fn reads_as_assent(new_text: &str, words: &ApproversConfig) -> Option<String> {
    let text: String = new_text.nfc().collect::<String>().to_lowercase();
    let lists = Lists::new(words);

    // Step 1: the lead, then a greeting line and the lead after it.
    let (lead, rest) = skip_lead(&text);
    let (after_greeting, rest) = match skip_greeting(rest, &lists) {
        Some(after) => skip_lead(after),
        None => (None, rest),
    };
    let lead_emoji = lead.or(after_greeting);

    // Step 2: the first sentence; after a greeting that is a sentence of its own on the same
    // line ("Hello! Approve"), the next one too.
    let mut sentences = rest.split(SENTENCE_ENDS);
    let first = sentences.next().unwrap_or("");
    let mut candidates = vec![first];
    if lists.is_greeting(&tokenize(first))
        && let Some(next) = sentences.find(|s| s.chars().any(char::is_alphanumeric))
    {
        candidates.push(next);
    }

    // Step 3, for each candidate sentence.
    let only = only_assent(&text, &lists);
    candidates.into_iter().find_map(|sentence| {
        let tokens = tokenize(sentence);
        let reason = only
            .clone()
            .or_else(|| lists.starts(&tokens, sentence))
            .or_else(|| lists.holds_approval(&tokens, sentence))
            .or_else(|| lead_emoji.map(|e| e.to_string()))?;
        (!lists.holds_rejection(&tokens, sentence)).then_some(reason)
    })
}

/// The word lists, each entry split into its words (a phrase is several).
struct Lists {
    approval: Vec<Entry>,
    assent: Vec<Entry>,
    rejection: Vec<Entry>,
    greeting: Vec<String>,
}

struct Entry {
    /// As configured (NFC, lower case): shown in explanations, matched as a substring when
    /// `unspaced`.
    text: String,
    words: Vec<String>,
    unspaced: bool,
}

impl Entry {
    fn new(text: &str) -> Entry {
        Entry {
            text: text.to_string(),
            words: tokenize(text),
            unspaced: is_unspaced_script(text),
        }
    }

    /// Whether the entry's words are `tokens[at..]`'s first words. A one-word entry also
    /// matches a word after an elided article or pronoun ("j'approuve", "l'approuve").
    fn at(&self, tokens: &[String], at: usize) -> bool {
        match self.words.as_slice() {
            [] => false,
            [one] => tokens.get(at).is_some_and(|t| {
                t == one || t.rsplit_once('\'').is_some_and(|(_, after)| after == one)
            }),
            words => tokens.get(at..at + words.len()) == Some(words),
        }
    }
}

impl Lists {
    /// At most eight words, the first a greeting word.
    fn is_greeting(&self, words: &[String]) -> bool {
        words.len() <= MAX_GREETING_WORDS
            && words.first().is_some_and(|w| self.greeting.contains(w))
    }

    fn new(a: &ApproversConfig) -> Lists {
        let entries = |words: &[String]| words.iter().map(|w| Entry::new(w)).collect();
        Lists {
            approval: entries(&a.approval_words),
            assent: entries(&a.assent_words),
            rejection: entries(&a.rejection_words),
            greeting: a.greeting_words.iter().flat_map(|g| tokenize(g)).collect(),
        }
    }

    /// The approval or assent word or phrase the sentence starts with.
    fn starts(&self, tokens: &[String], sentence: &str) -> Option<String> {
        let sentence = sentence.trim_start();
        self.approval
            .iter()
            .chain(&self.assent)
            .find(|e| {
                if e.unspaced {
                    sentence.starts_with(&e.text)
                } else {
                    e.at(tokens, 0)
                }
            })
            .map(|e| e.text.clone())
    }

    /// An approval word anywhere in the sentence.
    fn holds_approval(&self, tokens: &[String], sentence: &str) -> Option<String> {
        self.approval
            .iter()
            .find(|e| {
                if e.unspaced {
                    sentence.contains(&e.text)
                } else {
                    (0..tokens.len()).any(|i| e.at(tokens, i))
                }
            })
            .map(|e| e.text.clone())
    }

    /// A rejection or negation word in the sentence once its assent phrases are taken out
    /// ("OK, no problem" holds "no" only inside "no problem").
    fn holds_rejection(&self, tokens: &[String], sentence: &str) -> bool {
        let mut kept = vec![true; tokens.len()];
        let mut i = 0;
        while i < tokens.len() {
            match self
                .assent
                .iter()
                .filter(|e| !e.unspaced && e.at(tokens, i))
                .map(|e| e.words.len())
                .max()
            {
                Some(n) => {
                    kept[i..i + n].iter_mut().for_each(|k| *k = false);
                    i += n;
                }
                None => i += 1,
            }
        }
        let left: Vec<String> = tokens
            .iter()
            .zip(&kept)
            .filter(|(_, k)| **k)
            .map(|(t, _)| t.clone())
            .collect();
        let mut unspaced_text = sentence.to_string();
        for e in self.assent.iter().filter(|e| e.unspaced) {
            unspaced_text = unspaced_text.replace(&e.text, " ");
        }
        self.rejection.iter().any(|e| {
            if e.unspaced {
                unspaced_text.contains(&e.text)
            } else {
                (0..left.len()).any(|i| e.at(&left, i))
            }
        })
    }
}

/// The whole text is assent words and assent emoji, with punctuation, and at least one of them:
/// the first assent word or emoji.
fn only_assent(text: &str, lists: &Lists) -> Option<String> {
    let mut emoji = None;
    for c in text.chars() {
        if is_word_char(c) || c.is_whitespace() || is_emoji_modifier(c) {
            continue;
        }
        if ASSENT_EMOJI.contains(&c) {
            emoji.get_or_insert(c);
        } else if !c.is_ascii_punctuation() && !is_punctuation(c) {
            // Any other symbol or emoji ("👎") is not assent.
            return None;
        }
    }
    let tokens = tokenize(text);
    let mut first = None;
    let mut i = 0;
    while i < tokens.len() {
        let e = lists
            .assent
            .iter()
            .filter(|e| e.at(&tokens, i))
            .max_by_key(|e| e.words.len())?;
        first.get_or_insert_with(|| e.text.clone());
        i += e.words.len();
    }
    first.or_else(|| emoji.map(|e| e.to_string()))
}

/// Skips leading emoji, punctuation and white space; returns the first assent emoji among them.
fn skip_lead(text: &str) -> (Option<char>, &str) {
    let start = text.find(is_word_char_start).unwrap_or(text.len());
    let skipped = &text[..start];
    (
        skipped.chars().find(|c| ASSENT_EMOJI.contains(c)),
        &text[start..],
    )
}

fn is_word_char_start(c: char) -> bool {
    c.is_alphanumeric() || c == '+'
}

/// The text after a greeting line at its start, when there is one and more text follows it.
fn skip_greeting<'t>(text: &'t str, lists: &Lists) -> Option<&'t str> {
    let (line, after) = text.split_once('\n')?;
    let greeting = lists.is_greeting(&tokenize(line));
    let more = after
        .chars()
        .any(|c| c.is_alphanumeric() || ASSENT_EMOJI.contains(&c));
    (greeting && more).then_some(after)
}

/// The words of `text`: runs of letters, digits and combining marks, with apostrophes inside a
/// word kept (as `'`) and a leading `+` kept before digits ("+1"); everything else separates.
pub fn tokenize(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut flush = |word: &mut String| {
        let w = word.trim_matches('\'');
        let w: String = match w.strip_prefix('+') {
            Some(digits) if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) => {
                w.to_string()
            }
            _ => w.chars().filter(|c| *c != '+').collect(),
        };
        if w.chars().any(char::is_alphanumeric) {
            out.push(w.to_lowercase());
        }
        word.clear();
    };
    for c in text.chars() {
        if is_word_char(c) {
            word.push(if c == '’' { '\'' } else { c });
        } else {
            flush(&mut word);
        }
    }
    flush(&mut word);
    out
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || is_combining_mark(c) || matches!(c, '\'' | '’' | '+')
}

/// Variation selectors, skin tones and joiners that decorate an emoji.
fn is_emoji_modifier(c: char) -> bool {
    matches!(c as u32, 0xFE0E | 0xFE0F | 0x200D | 0x1F3FB..=0x1F3FF)
}

/// General punctuation beyond ASCII (quotes, dashes, ellipsis, full-width and CJK marks).
fn is_punctuation(c: char) -> bool {
    matches!(c as u32,
        0x00A1 | 0x00AB | 0x00BB | 0x00BF
        | 0x2010..=0x2027
        | 0x2030..=0x205E
        | 0x3000..=0x303F
        | 0xFF01..=0xFF0F
        | 0xFF1A..=0xFF20)
}

/// Chinese and Japanese write words without spaces between them.
fn is_unspaced_script(word: &str) -> bool {
    word.chars().any(|c| {
        matches!(c as u32,
            0x3040..=0x30FF      // Hiragana, Katakana
            | 0x3400..=0x4DBF    // CJK Extension A
            | 0x4E00..=0x9FFF    // CJK Unified Ideographs
            | 0xF900..=0xFAFF) // CJK Compatibility Ideographs
    })
}

#[cfg(test)]
mod tests;
