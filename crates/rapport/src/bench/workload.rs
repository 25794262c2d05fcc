//! The made-up tickets the benchmark creates.
//!
//! Contents are derived from the ticket's index alone (a random generator seeded with it), so
//! two runs with the same `--tickets` send the same requests and their figures compare. Bodies
//! are varied support-desk sentences of 150 to 400 bytes, so full-text indexing does realistic
//! work; exactly every 100th body carries [`MARKER`], the word the search phase looks for.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

/// The word in about 1% of ticket bodies (every 100th) that the search phase queries.
pub(super) const MARKER: &str = "zephyrine";

/// Distinct customers the tickets are spread over.
const CUSTOMERS: usize = 5000;

const CHANNELS: [&str; 8] = ["email", "web", "chat", "whatsapp", "telegram", "sms", "phone", "api"];
const URGENCIES: [&str; 4] = ["low", "normal", "high", "urgent"];

const PROBLEMS: [&str; 10] = [
    "Problem with",
    "Question about",
    "Cannot update",
    "Refund for",
    "Error when opening",
    "Missing",
    "Delay with",
    "Help with",
    "Wrong amount on",
    "Unable to download",
];
const THINGS: [&str; 12] = [
    "my invoice",
    "the mobile app",
    "my order delivery",
    "the account settings",
    "the password reset email",
    "a subscription renewal",
    "the billing address",
    "the export feature",
    "two-factor login",
    "the shared calendar",
    "a damaged parcel",
    "the API key",
];
const TIMES: [&str; 6] =
    ["yesterday", "last Tuesday", "this morning", "the last update", "two days ago", "early last week"];
const ACTIONS: [&str; 7] = [
    "log in",
    "reset my password",
    "download the report",
    "change my plan",
    "update the card details",
    "sync my contacts",
    "track the parcel",
];
const GREETINGS: [&str; 5] = ["Hello,", "Hi team,", "Good morning,", "Dear support,", "Hey there,"];
const SENTENCES: [&str; 11] = [
    "Since {time} I keep getting an error when I try to {action}.",
    "I already tried to {action} twice but nothing happened.",
    "Could you please check {thing} on my account?",
    "This started {time} and it is blocking my work.",
    "My colleague has the same issue with {thing}.",
    "I attached a screenshot of {thing} for reference.",
    "Please let me know if you need more details about {thing}.",
    "We rely on {thing} every day, so a quick answer would help a lot.",
    "I was charged twice {time} and would like a refund.",
    "Is there a workaround until {thing} is fixed?",
    "The app just spins when I {action}, on both my phone and laptop.",
];
const MARKER_SENTENCE: &str = "The zephyrine option on the settings page seems to be the cause.";
const SIGN_OFFS: [&str; 5] =
    ["Thanks!", "Best regards, Anna", "Kind regards, Tom", "Cheers, Priya", "Thank you in advance."];

/// The body of `POST /api/v1/tickets`.
#[derive(Debug, Serialize)]
pub(super) struct NewTicket {
    subject: String,
    body: String,
    channel: &'static str,
    customer: NewCustomer,
    urgency: &'static str,
    team: i64,
}

#[derive(Debug, Serialize)]
struct NewCustomer {
    email: String,
    name: String,
}

/// The `index`-th ticket of a run, filed with team `team`.
pub(super) fn ticket(index: usize, team: i64) -> NewTicket {
    let mut rng = StdRng::seed_from_u64(index as u64);
    let customer = index % CUSTOMERS;
    NewTicket {
        subject: format!("{} {}", pick(&mut rng, &PROBLEMS), pick(&mut rng, &THINGS)),
        body: body(&mut rng, index.is_multiple_of(100)),
        channel: CHANNELS[index % CHANNELS.len()],
        customer: NewCustomer {
            email: format!("customer{customer}@example.com"),
            name: format!("Customer {customer}"),
        },
        urgency: URGENCIES[index % URGENCIES.len()],
        team,
    }
}

/// A greeting, sentences up to a random length, the marker sentence if asked, a sign-off.
fn body(rng: &mut StdRng, with_marker: bool) -> String {
    let target = rng.random_range(150..=300);
    let mut body = String::from(pick(rng, &GREETINGS));
    if with_marker {
        body.push(' ');
        body.push_str(MARKER_SENTENCE);
    }
    while body.len() < target {
        let sentence = pick(rng, &SENTENCES)
            .replace("{time}", pick(rng, &TIMES))
            .replace("{action}", pick(rng, &ACTIONS))
            .replace("{thing}", pick(rng, &THINGS));
        body.push(' ');
        body.push_str(&sentence);
    }
    body.push('\n');
    body.push_str(pick(rng, &SIGN_OFFS));
    body
}

fn pick(rng: &mut StdRng, words: &[&'static str]) -> &'static str {
    words.get(rng.random_range(0..words.len())).copied().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_have_realistic_sizes_and_the_marker_every_100th() {
        for index in 0..20_000 {
            let ticket = ticket(index, 1);
            let len = ticket.body.len();
            assert!((150..=400).contains(&len), "ticket {index}: {len} bytes");
            assert_eq!(ticket.body.contains(MARKER), index.is_multiple_of(100), "ticket {index}");
            assert!(!ticket.subject.contains(MARKER));
        }
    }

    #[test]
    fn tickets_are_reproducible_and_varied() {
        assert_eq!(ticket(42, 1).body, ticket(42, 1).body);
        assert_ne!(ticket(42, 1).body, ticket(43, 1).body);
        let json = serde_json::to_value(ticket(5001, 7)).unwrap();
        assert_eq!(json["customer"]["email"], "customer1@example.com");
        assert_eq!(json["customer"]["name"], "Customer 1");
        assert_eq!(json["channel"], "web");
        assert_eq!(json["urgency"], "normal");
        assert_eq!(json["team"], 7);
    }
}
