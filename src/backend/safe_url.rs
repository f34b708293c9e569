//! Joins the configured base URL with a request's `path_and_query`, refusing anything that
//! could leave the base.
//!
//! The mapping percent-encodes every value it puts into a path; this module is the last line
//! of defence: a template or a hostile SCIM id can never change the scheme, host or port,
//! climb out of the base path (`..`, `%2e%2e`, `..%2F`), name another host (`//host`,
//! absolute URLs, backslashes), or smuggle CR/LF and other control characters into the
//! request line. It does no I/O and never logs the path (it may hold personal data).

use percent_encoding::percent_decode_str;
use url::Url;

/// The validated base URL: origin plus a path prefix without its trailing slash.
#[derive(Debug, Clone)]
pub(crate) struct BaseUrl {
    url: Url,
    prefix: String,
}

impl BaseUrl {
    /// Checks that the base URL can be used: http(s), a host, no credentials, no query or
    /// fragment.
    pub(crate) fn new(url: Url) -> Result<Self, String> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!(
                "base_url scheme must be http or https, not {}",
                url.scheme()
            ));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err("base_url has no host".to_owned());
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("base_url must not hold credentials; use backend auth".to_owned());
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err("base_url must not have a query or fragment".to_owned());
        }
        let prefix = url.path().trim_end_matches('/').to_owned();
        Ok(Self { url, prefix })
    }

    /// The final URL for `path_and_query`, or why it is unsafe.
    pub(crate) fn join(&self, path_and_query: &str) -> Result<Url, &'static str> {
        if !path_and_query.starts_with('/') {
            return Err("path must start with '/'");
        }
        if path_and_query.starts_with("//") {
            return Err("path starts with '//' and would name another host");
        }
        for byte in path_and_query.bytes() {
            match byte {
                b'\r' | b'\n' => return Err("path contains CR or LF"),
                0..=0x1f | 0x7f => return Err("path contains a control character"),
                b' ' => return Err("path contains a space (not percent-encoded)"),
                b'\\' => return Err("path contains a backslash"),
                b'#' => return Err("path contains a fragment"),
                0x80..=0xff => return Err("path contains non-ASCII text (not percent-encoded)"),
                _ => {}
            }
        }
        let (path, query) = match path_and_query.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (path_and_query, None),
        };
        for segment in path.split('/') {
            let decoded = percent_decode_str(segment).decode_utf8_lossy();
            if decoded
                .split(['/', '\\'])
                .any(|piece| piece == "." || piece == "..")
            {
                return Err("path contains a dot segment ('.' or '..', possibly encoded)");
            }
        }

        let mut text = self.url[..url::Position::BeforePath].to_owned();
        text.push_str(&self.prefix);
        text.push_str(path_and_query);
        let url = Url::parse(&text).map_err(|_| "path does not form a valid URL")?;
        let same_origin = url.scheme() == self.url.scheme()
            && url.host_str() == self.url.host_str()
            && url.port_or_known_default() == self.url.port_or_known_default()
            && url.username().is_empty()
            && url.password().is_none();
        if !same_origin {
            return Err("path would change the scheme, host or port");
        }
        let expected_path = format!("{}{path}", self.prefix);
        if url.path() != expected_path || url.query() != query || url.fragment().is_some() {
            return Err("path is not cleanly percent-encoded (the URL parser had to change it)");
        }
        Ok(url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(text: &str) -> BaseUrl {
        BaseUrl::new(Url::parse(text).unwrap()).unwrap()
    }

    #[test]
    fn joins_below_the_base_path() {
        let b = base("http://127.0.0.1:8080/legacy/");
        let url = b.join("/api/v1/users/a%2Fb?email=x%40y.z&limit=5");
        assert_eq!(
            url.map(String::from).as_deref(),
            Ok("http://127.0.0.1:8080/legacy/api/v1/users/a%2Fb?email=x%40y.z&limit=5")
        );
        let b = base("https://api.example.com");
        assert_eq!(
            b.join("/users").map(String::from).as_deref(),
            Ok("https://api.example.com/users")
        );
    }

    #[test]
    fn refuses_escapes() {
        let b = base("http://127.0.0.1:8080/legacy");
        let hostile = [
            "",
            "users",
            "//evil.example/x",
            "/../admin",
            "/users/..",
            "/users/./x",
            "/users/%2e%2e/admin",
            "/users/%2E./admin",
            "/users/..%2Fadmin",
            "/users/x%2F..%2F..",
            "/users\\..\\admin",
            "/users/1\r\nHost: evil",
            "/users/1\nX: y",
            "/users/\x00",
            "/users/a b",
            "/users/é",
            "/users#frag",
            "/users/{id}",
            "/users/\"x\"",
            "http://evil.example/",
            "/@evil.example",
        ];
        for path in hostile {
            let result = b.join(path);
            if path == "/@evil.example" {
                // '@' in a path is data, not userinfo: it must stay on our host.
                assert_eq!(
                    result.map(String::from).as_deref(),
                    Ok("http://127.0.0.1:8080/legacy/@evil.example")
                );
                continue;
            }
            assert!(result.is_err(), "{path:?} was accepted as {result:?}");
        }
    }

    #[test]
    fn refuses_bad_base_urls() {
        for text in ["ftp://h/", "http://u:p@h/", "http://h/?a=1", "file:///etc"] {
            assert!(BaseUrl::new(Url::parse(text).unwrap()).is_err(), "{text}");
        }
    }
}
