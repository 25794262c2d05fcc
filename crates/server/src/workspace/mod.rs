//! Reserved for the agents' web workspace: the server-rendered pages agents
//! work tickets in (queues, a ticket with its conversation, replies and
//! notes), beside the JSON API in `api` and built on the same store calls.
//! It holds nothing yet; the pages arrive with the next issue.
