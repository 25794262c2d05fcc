//! The demo's conversations as text, and the reader that turns them into
//! [`Conversation`]s.
//!
//! They are written by hand in `conversations/*.txt`, one file per kind of
//! channel, so that each reads the way people write on that channel (long
//! emails, short chat lines) and a newcomer can add one without touching
//! code. The form:
//!
//! ```text
//! # a comment
//! === whatsapp | billing | high | solved
//! subject: Me cobraron dos veces
//! lang: es
//! tags: refund, invoice
//! > The customer writes.
//!   A line that starts with no marker continues the message before it.
//! < The owner answers; {name} is the customer's first name, {agent} the owner's.
//! ! An internal note by the owner.
//! ```
//!
//! The header is channel | team | urgency | status at the end. `lang`,
//! `tags` and `problem` (`lead` for the problem ticket, `linked` for the
//! tickets linked to it) may be left out. A phone conversation holds only
//! notes: the call itself is the customer's side. When and how fast each
//! message comes is not written here; `schedule.rs` decides it.

use rapport_core::{Channel, Level, Status};

/// Who writes a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Speaker {
    /// The customer (`>`).
    Customer,
    /// The ticket's owner, publicly (`<`).
    Agent,
    /// The ticket's owner, internally (`!`).
    Note,
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Who writes it.
    pub speaker: Speaker,
    /// The text, with `{name}` and `{agent}` still in it.
    pub text: String,
}

/// The customer's language, which picks their name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Language {
    English,
    Spanish,
    German,
    French,
    Portuguese,
}

impl Language {
    fn parse(word: &str) -> Option<Language> {
        match word {
            "en" => Some(Language::English),
            "es" => Some(Language::Spanish),
            "de" => Some(Language::German),
            "fr" => Some(Language::French),
            "pt" => Some(Language::Portuguese),
            _ => None,
        }
    }

    /// The ISO 639-1 code.
    pub fn code(self) -> &'static str {
        match self {
            Language::English => "en",
            Language::Spanish => "es",
            Language::German => "de",
            Language::French => "fr",
            Language::Portuguese => "pt",
        }
    }
}

/// A conversation's part in the demo's major incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemRole {
    /// The problem ticket itself.
    Lead,
    /// A ticket linked to it.
    Linked,
}

/// One ticket's story.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversation {
    /// The file and line it starts at, for messages about it.
    pub origin: String,
    /// The channel it came in on.
    pub channel: Channel,
    /// The team's key (`billing`, `tech`, ...).
    pub team: String,
    /// How urgent the customer's problem is.
    pub urgency: Level,
    /// The status it ends in.
    pub end: Status,
    /// The subject.
    pub subject: String,
    /// The customer's language.
    pub language: Language,
    /// Topic tags.
    pub tags: Vec<String>,
    /// Its part in the major incident, if any.
    pub problem: Option<ProblemRole>,
    /// The messages, in order.
    pub steps: Vec<Step>,
}

impl Conversation {
    /// True when the last public word is the customer's: the ticket waits for an answer.
    pub fn awaits_answer(&self) -> bool {
        self.steps.iter().rev().find(|step| step.speaker != Speaker::Note).map(|step| step.speaker)
            == Some(Speaker::Customer)
    }
}

/// A script that cannot be read, naming where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptError {
    /// The file.
    pub file: String,
    /// The 1-based line.
    pub line: usize,
    /// What is wrong.
    pub problem: String,
}

impl std::fmt::Display for ScriptError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{}:{}: {}", self.file, self.line, self.problem)
    }
}

impl std::error::Error for ScriptError {}

/// Reads one file of conversations.
pub fn parse(file: &str, text: &str) -> Result<Vec<Conversation>, ScriptError> {
    let mut conversations: Vec<Conversation> = Vec::new();
    let fail = |line: usize, problem: String| ScriptError { file: file.to_owned(), line, problem };
    for (index, raw) in text.lines().enumerate() {
        let number = index + 1;
        let line = raw.trim_end();
        // A comment starts at the first column; message lines that continue are indented.
        if line.starts_with('#') {
            continue;
        }
        if let Some(header) = line.strip_prefix("===") {
            conversations.push(header_of(header).map_err(|problem| fail(number, problem))?);
            if let Some(conversation) = conversations.last_mut() {
                conversation.origin = format!("{file}:{number}");
            }
            continue;
        }
        let Some(conversation) = conversations.last_mut() else {
            if line.is_empty() {
                continue;
            }
            return Err(fail(number, "text before the first === header".to_owned()));
        };
        let marker = line.chars().next();
        let speaker = match marker {
            Some('>') => Some(Speaker::Customer),
            Some('<') => Some(Speaker::Agent),
            Some('!') => Some(Speaker::Note),
            _ => None,
        };
        if let Some(speaker) = speaker {
            let text = line.get(1..).unwrap_or_default().trim().to_owned();
            conversation.steps.push(Step { speaker, text });
        } else if let Some(step) = conversation.steps.last_mut() {
            step.text.push('\n');
            step.text.push_str(line.trim());
        } else if line.is_empty() {
            continue;
        } else if let Some((key, value)) = line.split_once(':') {
            field(conversation, key.trim(), value.trim()).map_err(|problem| fail(number, problem))?;
        } else {
            return Err(fail(number, format!("expected `key: value` or a message, got {line:?}")));
        }
    }
    for conversation in &mut conversations {
        for step in &mut conversation.steps {
            step.text = step.text.trim().to_owned();
        }
        check(conversation).map_err(|problem| {
            let line = conversation.origin.rsplit(':').next().and_then(|line| line.parse().ok()).unwrap_or(0);
            fail(line, problem)
        })?;
    }
    Ok(conversations)
}

fn header_of(header: &str) -> Result<Conversation, String> {
    let parts: Vec<&str> = header.split('|').map(str::trim).collect();
    let [channel, team, urgency, end] = parts.as_slice() else {
        return Err(format!("a header is `=== channel | team | urgency | status`, got {header:?}"));
    };
    Ok(Conversation {
        origin: String::new(),
        channel: channel.parse().map_err(|error| format!("channel: {error}"))?,
        team: (*team).to_owned(),
        urgency: urgency.parse().map_err(|error| format!("urgency: {error}"))?,
        end: end.parse().map_err(|error| format!("status: {error}"))?,
        subject: String::new(),
        language: Language::English,
        tags: Vec::new(),
        problem: None,
        steps: Vec::new(),
    })
}

fn field(conversation: &mut Conversation, key: &str, value: &str) -> Result<(), String> {
    match key {
        "subject" => conversation.subject = value.to_owned(),
        "lang" => {
            conversation.language =
                Language::parse(value).ok_or_else(|| format!("lang: {value:?} is not one of en, es, de, fr, pt"))?;
        }
        "tags" => conversation.tags = value.split(',').map(|tag| tag.trim().to_owned()).collect(),
        "problem" => {
            conversation.problem = Some(match value {
                "lead" => ProblemRole::Lead,
                "linked" => ProblemRole::Linked,
                _ => return Err(format!("problem: {value:?} is not lead or linked")),
            });
        }
        _ => return Err(format!("unknown field {key:?} (expected subject, lang, tags or problem)")),
    }
    Ok(())
}

fn check(conversation: &Conversation) -> Result<(), String> {
    if conversation.subject.is_empty() {
        return Err("the conversation has no subject".to_owned());
    }
    if conversation.steps.iter().any(|step| step.text.is_empty()) {
        return Err("a message is empty".to_owned());
    }
    let first = conversation.steps.first().map(|step| step.speaker);
    if conversation.channel == Channel::Phone {
        if conversation.steps.iter().any(|step| step.speaker != Speaker::Note) {
            return Err("a phone conversation holds only notes (!): the call is the customer's side".to_owned());
        }
    } else if first != Some(Speaker::Customer) {
        return Err("a conversation starts with the customer (>)".to_owned());
    }
    let answered = conversation.steps.iter().any(|step| step.speaker == Speaker::Agent);
    match conversation.end {
        Status::New if answered => Err("a new ticket has no answer yet".to_owned()),
        Status::Solved | Status::Closed | Status::Pending | Status::OnHold
            if !answered && conversation.channel != Channel::Phone =>
        {
            Err(format!("a {} ticket has an answer", conversation.end))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn a_conversation_reads_with_its_fields_and_continued_lines() {
        let text = "# demo\n=== whatsapp | billing | high | solved\nsubject: Doble cobro\nlang: es\ntags: refund, invoice\n\
                    > Hola\n  me cobraron dos veces\n< Hola {name}, lo miro.\n! refund issued\n> gracias!!\n";
        let conversations = parse("t.txt", text).unwrap();
        assert_eq!(conversations.len(), 1);
        let conversation = &conversations[0];
        assert_eq!(conversation.origin, "t.txt:2");
        assert_eq!(
            (conversation.channel, conversation.urgency, conversation.end),
            (Channel::Whatsapp, Level::High, Status::Solved)
        );
        assert_eq!(conversation.language, Language::Spanish);
        assert_eq!(conversation.tags, ["refund", "invoice"]);
        let speakers: Vec<Speaker> = conversation.steps.iter().map(|step| step.speaker).collect();
        assert_eq!(speakers, [Speaker::Customer, Speaker::Agent, Speaker::Note, Speaker::Customer]);
        assert_eq!(conversation.steps[0].text, "Hola\nme cobraron dos veces");
        assert!(conversation.awaits_answer());
    }

    #[test]
    fn mistakes_name_the_line() {
        let error = parse("t.txt", "=== email | billing | soon | solved\n").unwrap_err();
        assert_eq!((error.line, error.problem.starts_with("urgency: ")), (1, true), "{error}");
        let error = parse("t.txt", "=== email | billing | low | solved\nsubject: x\n< hi\n").unwrap_err();
        assert_eq!(error.to_string(), "t.txt:1: a conversation starts with the customer (>)");
        let error = parse("t.txt", "=== email | billing | low | new\nsubject: x\ncolour: red\n").unwrap_err();
        assert_eq!(error.line, 3, "{error}");
        let error = parse("t.txt", "=== phone | billing | low | solved\nsubject: x\n> hello\n").unwrap_err();
        assert!(error.problem.contains("only notes"), "{error}");
    }
}
