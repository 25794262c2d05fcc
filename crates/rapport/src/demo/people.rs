//! Who is in the demo: the teams and agents of a small support desk, the
//! organizations it serves, and its customers with the addresses and
//! handles their tickets came from.
//!
//! The desk supports a point-of-sale and booking app for small shops, cafés
//! and salons. A customer gets an identity for each channel they wrote on (a
//! phone number for WhatsApp, SMS and calls, a handle on Telegram, Messenger
//! and Instagram, a visitor id in chat, an email address for email, the web
//! form and the API) and often an email address besides, so a newcomer sees
//! one customer joined across channels.

use std::collections::{BTreeSet, HashSet};

use rand::Rng;
use rand::rngs::StdRng;
use rapport_core::{Channel, Identity, IdentityKind, Role};

use super::script::Language;

/// (key used in the conversations, name, description).
pub const TEAMS: [(&str, &str, &str); 5] = [
    ("billing", "Billing", "Invoices, plans, refunds and payouts"),
    ("tech", "Technical support", "The app, the dashboard, integrations and the API"),
    ("hardware", "Hardware & shipping", "Card readers, printers, deliveries and returns"),
    ("onboarding", "Onboarding", "New accounts, set-up, imports and training"),
    ("escalations", "Escalations", "Senior engineers for escalated tickets and major incidents"),
];

/// An agent of the demo desk.
pub struct AgentSpec {
    pub name: &'static str,
    pub email: &'static str,
    pub role: Role,
    /// Team keys; a supervisor with none belongs to every team.
    pub teams: &'static [&'static str],
    pub languages: &'static [&'static str],
}

pub const AGENTS: [AgentSpec; 11] = [
    AgentSpec {
        name: "Sam Okafor",
        email: "sam@rapport.example",
        role: Role::Supervisor,
        teams: &[],
        languages: &["en"],
    },
    AgentSpec {
        name: "Hannah Weber",
        email: "hannah@rapport.example",
        role: Role::Supervisor,
        teams: &["escalations", "tech"],
        languages: &["en", "de"],
    },
    AgentSpec {
        name: "Priya Natarajan",
        email: "priya@rapport.example",
        role: Role::Agent,
        teams: &["billing"],
        languages: &["en"],
    },
    AgentSpec {
        name: "Tomás Herrera",
        email: "tomas@rapport.example",
        role: Role::Agent,
        teams: &["billing", "onboarding"],
        languages: &["en", "es"],
    },
    AgentSpec {
        name: "Claire Martin",
        email: "claire@rapport.example",
        role: Role::Agent,
        teams: &["billing", "hardware"],
        languages: &["en", "fr"],
    },
    AgentSpec {
        name: "Mei Lin",
        email: "mei@rapport.example",
        role: Role::Agent,
        teams: &["tech"],
        languages: &["en"],
    },
    AgentSpec {
        name: "Jonas Berg",
        email: "jonas@rapport.example",
        role: Role::Agent,
        teams: &["tech", "escalations"],
        languages: &["en", "de"],
    },
    AgentSpec {
        name: "Rafael Souza",
        email: "rafael@rapport.example",
        role: Role::Agent,
        teams: &["tech", "onboarding"],
        languages: &["en", "pt", "es"],
    },
    AgentSpec {
        name: "Aisha Bello",
        email: "aisha@rapport.example",
        role: Role::Agent,
        teams: &["hardware", "tech"],
        languages: &["en", "fr"],
    },
    AgentSpec {
        name: "Marco Rossi",
        email: "marco@rapport.example",
        role: Role::Agent,
        teams: &["hardware"],
        languages: &["en"],
    },
    AgentSpec {
        name: "Lucía Romero",
        email: "lucia@rapport.example",
        role: Role::Agent,
        teams: &["onboarding"],
        languages: &["en", "es", "pt"],
    },
];

/// (name, tier, email domain) of the organizations customers belong to.
pub const ORGANIZATIONS: [(&str, &str, &str); 6] = [
    ("Northwind Traders", "premium", "northwind.example"),
    ("Blue Fern Cafés", "premium", "bluefern.example"),
    ("Globex Retail", "business", "globex.example"),
    ("Lumen Salons", "business", "lumen.example"),
    ("Harbour Books", "business", "harbourbooks.example"),
    ("Initech", "basic", "initech.example"),
];

fn names(language: Language) -> (&'static [&'static str], &'static [&'static str]) {
    match language {
        Language::English => (
            &[
                "Olivia", "James", "Amelia", "Noah", "Grace", "Liam", "Chloe", "Ethan", "Zara", "Oscar", "Kwame",
                "Aisha", "Jun", "Tariq", "Fiona", "Declan", "Megan", "Ravi", "Sophie", "Tom", "Nia", "Kofi", "Hana",
                "Dev",
            ],
            &[
                "Walker", "Patel", "O'Brien", "Nguyen", "Campbell", "Okoye", "Harris", "Kim", "Murphy", "Shah", "Reid",
                "Clarke", "Evans", "Hughes", "Adeyemi", "Bennett", "Foster", "Lewis", "Mensah", "Doyle",
            ],
        ),
        Language::Spanish => (
            &["Lucía", "Javier", "Carmen", "Diego", "Sofía", "Alejandro", "Valentina", "Pablo", "Marta", "Andrés"],
            &[
                "García",
                "Fernández",
                "Martínez",
                "Ruiz",
                "Navarro",
                "Morales",
                "Ortega",
                "Castillo",
                "Vega",
                "Iglesias",
            ],
        ),
        Language::German => (
            &["Lukas", "Anna", "Felix", "Lena", "Maximilian", "Sophie", "Jonas", "Marie", "Tobias", "Katrin"],
            &["Müller", "Schneider", "Fischer", "Weber", "Becker", "Hoffmann", "Schäfer", "Koch", "Richter", "Wolf"],
        ),
        Language::French => (
            &["Camille", "Hugo", "Léa", "Louis", "Manon", "Théo", "Chloé", "Julien", "Inès", "Mathieu"],
            &["Dubois", "Lefèvre", "Moreau", "Laurent", "Girard", "Roux", "Fournier", "Bonnet", "Mercier", "Lambert"],
        ),
        Language::Portuguese => (
            &["João", "Ana", "Pedro", "Beatriz", "Tiago", "Mariana", "Gabriel", "Inês", "Larissa", "Rui"],
            &[
                "Silva",
                "Santos",
                "Oliveira",
                "Costa",
                "Pereira",
                "Almeida",
                "Carvalho",
                "Ferreira",
                "Rodrigues",
                "Martins",
            ],
        ),
    }
}

/// A customer being cast: who they are and every identity their tickets need.
#[derive(Debug, Clone)]
pub struct CustomerSpec {
    pub name: String,
    pub language: Language,
    /// Index into [`ORGANIZATIONS`].
    pub organization: Option<usize>,
    /// Their own tier, when it differs from the organization's.
    pub tier: Option<&'static str>,
    pub email: Option<Identity>,
    pub phone: Option<Identity>,
    pub chat: Option<Identity>,
    /// Messaging handles (`telegram:…`, `messenger:…`, `instagram:…`).
    pub handles: BTreeSet<Identity>,
}

impl CustomerSpec {
    /// The tier their tickets are measured under.
    pub fn tier(&self) -> &'static str {
        self.tier.or_else(|| self.organization.map(|index| ORGANIZATIONS[index].1)).unwrap_or("basic")
    }

    /// The first name, as agents greet them.
    pub fn first_name(&self) -> &str {
        self.name.split(' ').next().unwrap_or(&self.name)
    }

    /// Every identity, email first.
    pub fn identities(&self) -> Vec<Identity> {
        let mut identities: Vec<Identity> =
            [&self.email, &self.phone, &self.chat].into_iter().flatten().cloned().collect();
        identities.extend(self.handles.iter().cloned());
        identities
    }

    /// The identity a ticket on `channel` comes from.
    pub fn identity_for(&self, channel: Channel) -> Option<Identity> {
        match identity_kind(channel) {
            (IdentityKind::Email, _) => self.email.clone(),
            (IdentityKind::Phone, _) => self.phone.clone(),
            (IdentityKind::Chat, _) => self.chat.clone(),
            (IdentityKind::Handle, network) => {
                self.handles.iter().find(|handle| handle.value.starts_with(&format!("{network}:"))).cloned()
            }
        }
    }
}

/// The kind of identity a channel's messages come from, and for handles the network.
pub fn identity_kind(channel: Channel) -> (IdentityKind, &'static str) {
    match channel {
        Channel::Whatsapp | Channel::Sms | Channel::Phone => (IdentityKind::Phone, ""),
        Channel::Telegram => (IdentityKind::Handle, "telegram"),
        Channel::Messenger => (IdentityKind::Handle, "messenger"),
        Channel::Instagram => (IdentityKind::Handle, "instagram"),
        Channel::Chat => (IdentityKind::Chat, ""),
        Channel::Email | Channel::Web | Channel::Api => (IdentityKind::Email, ""),
    }
}

/// Makes up customers and their identities, never the same address twice.
pub struct Casting {
    taken: HashSet<String>,
    serial: u64,
}

impl Casting {
    pub fn new() -> Casting {
        Casting { taken: HashSet::new(), serial: 0 }
    }

    /// A new customer speaking `language`.
    pub fn customer(&mut self, language: Language, rng: &mut StdRng) -> CustomerSpec {
        let (first, last) = names(language);
        let name = format!("{} {}", first[rng.random_range(0..first.len())], last[rng.random_range(0..last.len())]);
        // About a fifth premium, a third business, the rest basic; most of them through an organization.
        let (organization, tier) = match rng.random_range(0..100) {
            0..=11 => (Some(rng.random_range(0..2)), None),
            12..=17 => (None, Some("premium")),
            18..=47 => (Some(rng.random_range(2..5)), None),
            48..=55 => (Some(5), None),
            _ => (None, None),
        };
        let mut customer = CustomerSpec {
            name,
            language,
            organization,
            tier,
            email: None,
            phone: None,
            chat: None,
            handles: BTreeSet::new(),
        };
        // Most people leave an email address somewhere, whatever channel they start on.
        if rng.random_range(0..10) < 6 {
            self.give(&mut customer, Channel::Email, rng);
        }
        customer
    }

    /// Makes sure `customer` has an identity for `channel`.
    pub fn give(&mut self, customer: &mut CustomerSpec, channel: Channel, rng: &mut StdRng) {
        if customer.identity_for(channel).is_some() {
            return;
        }
        let identity = loop {
            self.serial += 1;
            let candidate = self.invent(customer, channel, rng);
            if let Some(identity) = candidate
                && self.taken.insert(identity.value.clone())
            {
                break identity;
            }
        };
        match identity.kind {
            IdentityKind::Email => customer.email = Some(identity),
            IdentityKind::Phone => customer.phone = Some(identity),
            IdentityKind::Chat => customer.chat = Some(identity),
            IdentityKind::Handle => {
                customer.handles.insert(identity);
            }
        }
    }

    fn invent(&self, customer: &CustomerSpec, channel: Channel, rng: &mut StdRng) -> Option<Identity> {
        let serial = self.serial;
        let identity = match identity_kind(channel) {
            (IdentityKind::Email, _) => {
                let mut parts = customer.name.split(' ').map(ascii);
                let (first, last) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
                let domain = match customer.organization {
                    Some(index) => ORGANIZATIONS[index].2,
                    None => ["example.com", "example.net", "example.org", "mail.example"][rng.random_range(0..4)],
                };
                let local = match rng.random_range(0..4) {
                    0 => format!("{first}.{last}"),
                    1 => format!("{}{last}", first.chars().next().unwrap_or('x')),
                    2 => format!("{first}{}", rng.random_range(1..99)),
                    _ => format!("{first}.{last}{serial}"),
                };
                Identity::email(&format!("{local}@{domain}"))
            }
            (IdentityKind::Phone, _) => {
                // Numbers from ranges set aside for drama and examples where the country has one.
                let number = match customer.language {
                    Language::English if rng.random_bool(0.5) => format!("+44 7700 900{:03}", serial % 1000),
                    Language::English => format!("+1 202 555 01{:02}", serial % 100),
                    Language::Spanish => format!("+34 600 000 {:03}", serial % 1000),
                    Language::German => format!("+49 1510 0000 {:03}", serial % 1000),
                    Language::French => format!("+33 6 39 98 {:02} {:02}", serial / 100 % 100, serial % 100),
                    Language::Portuguese => format!("+55 11 90000 {:04}", serial % 10000),
                };
                Identity::phone(&number)
            }
            (IdentityKind::Chat, _) => {
                let id: String = (0..22)
                    .map(|_| char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[rng.random_range(0..36)]))
                    .collect();
                Identity::chat(&format!("v-{id}"))
            }
            (IdentityKind::Handle, network) => {
                let digits = match network {
                    "telegram" => rng.random_range(100_000_000u64..7_000_000_000).to_string(),
                    "messenger" => rng.random_range(1_000_000_000_000_000u64..9_000_000_000_000_000).to_string(),
                    _ => rng.random_range(10_000_000_000_000_000u64..19_000_000_000_000_000).to_string(),
                };
                Identity::handle(&format!("{network}:{digits}"))
            }
        };
        identity.ok()
    }
}

/// Folds a name to the letters an email address uses.
fn ascii(name: &str) -> String {
    name.chars()
        .filter_map(|c| {
            Some(match c {
                'á' | 'à' | 'â' | 'ã' | 'ä' => 'a',
                'é' | 'è' | 'ê' | 'ë' => 'e',
                'í' | 'ì' | 'î' | 'ï' => 'i',
                'ó' | 'ò' | 'ô' | 'õ' | 'ö' => 'o',
                'ú' | 'ù' | 'û' | 'ü' => 'u',
                'ñ' => 'n',
                'ç' => 'c',
                c if c.is_ascii_alphanumeric() => c.to_ascii_lowercase(),
                _ => return None,
            })
        })
        .collect::<String>()
        .to_lowercase()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn every_channel_gets_an_identity_of_its_kind_and_no_address_repeats() {
        let mut rng = StdRng::seed_from_u64(7);
        let mut casting = Casting::new();
        let mut seen = HashSet::new();
        for language in [Language::English, Language::Spanish, Language::German, Language::French, Language::Portuguese]
        {
            for _ in 0..40 {
                let mut customer = casting.customer(language, &mut rng);
                for channel in Channel::ALL {
                    casting.give(&mut customer, channel, &mut rng);
                    let identity = customer.identity_for(channel).unwrap();
                    assert_eq!(identity.kind, identity_kind(channel).0, "{channel}");
                }
                assert_eq!(customer.handles.len(), 3);
                for identity in customer.identities() {
                    assert!(seen.insert(identity.value.clone()), "{} twice", identity.value);
                }
            }
        }
        assert_eq!(ascii("Lefèvre"), "lefevre");
        assert_eq!(ascii("O'Brien"), "obrien");
    }
}
