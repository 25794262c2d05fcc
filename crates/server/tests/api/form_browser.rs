//! A browser for the server-rendered pages over plain HTTP: a session
//! cookie, forms posted with our own Origin (or another), redirects
//! followed by hand. Shared by the workspace and admin suites.

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};

use crate::helpers::*;

/// The password every test agent has.
pub const PASSWORD: &str = "a long test password";

/// A browser without redirects: the test follows them by hand.
pub struct Browser {
    pub address: String,
    pub client: reqwest::Client,
    pub cookie: Option<String>,
}

pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl Page {
    pub fn location(&self) -> &str {
        self.headers.get(LOCATION).and_then(|value| value.to_str().ok()).unwrap_or("")
    }

    /// The CSRF token the page's forms carry.
    pub fn csrf(&self) -> String {
        let start = self.text.find("name=\"csrf\" value=\"").expect("a form with a CSRF token") + 19;
        self.text[start..start + 64].to_owned()
    }
}

impl Browser {
    pub fn new(app: &TestApp) -> Browser {
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Browser { address: app.address.clone(), client, cookie: None }
    }

    pub async fn get(&self, path: &str) -> Page {
        let mut request = self.client.get(format!("{}{path}", self.address));
        if let Some(cookie) = &self.cookie {
            request = request.header("cookie", cookie);
        }
        read(request).await
    }

    /// Posts a form from one of our own pages (the Origin a browser sends).
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        self.post_from(path, fields, Some(&self.address.clone())).await
    }

    pub async fn post_from(&self, path: &str, fields: &[(&str, &str)], origin: Option<&str>) -> Page {
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
        let mut request = self
            .client
            .post(format!("{}{path}", self.address))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        if let Some(cookie) = &self.cookie {
            request = request.header("cookie", cookie);
        }
        read(request).await
    }

    pub async fn sign_in(&mut self, email: &str, password: &str) -> Page {
        let page = self.post("/sign-in", &[("email", email), ("password", password), ("next", "")]).await;
        if let Some(cookie) = page.headers.get(SET_COOKIE) {
            let cookie = cookie.to_str().unwrap();
            self.cookie = Some(cookie.split(';').next().unwrap().to_owned());
        }
        page
    }
}

pub async fn read(request: reqwest::RequestBuilder) -> Page {
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    Page { status, headers, text: response.text().await.unwrap() }
}

impl Page {
    /// The value of the hidden field `name`.
    pub fn hidden(&self, name: &str) -> String {
        let needle = format!("name=\"{name}\" value=\"");
        let start = self.text.find(&needle).unwrap_or_else(|| panic!("no {name} field")) + needle.len();
        self.text[start..].split('"').next().unwrap().to_owned()
    }
}

/// The secret of the `/password/` link in a text.
pub fn password_secret(text: &str) -> String {
    let start = text.find("/password/").unwrap_or_else(|| panic!("no password link in {text}")) + "/password/".len();
    text[start..start + 43].to_owned()
}
