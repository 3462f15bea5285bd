//! The HTTP/1.1 client side of WHIP (RFC 9725), as pure functions: the endpoint URL, the
//! request head, the response head, and where a `Location` points. Bytes in, bytes out, so
//! every branch is tested on the host; the TCP exchange is in [`super`].
//!
//! ```text
//!   parse_url("http://10.0.0.1:8080/whip")  -> Url { 10.0.0.1, 8080, "10.0.0.1:8080", "/whip" }
//!   write_request(POST, url, token, sdp)     -> "POST /whip HTTP/1.1\r\nHost: ..\r\n\r\n"
//!            ... TCP: head + offer out, response in ...
//!   parse_response(bytes)  -> Incomplete (read more) | Malformed | Response { status, .. }
//!   progress(bytes, closed) -> read more | the final response (1xx skipped) | error
//!   resolve(url, "Location" value, buf) -> "http://10.0.0.1:8080/whip/session/1"
//! ```
//!
//! One request per connection (`Connection: close`); bodies are framed by `Content-Length`
//! or by the server closing the connection. Chunked bodies are refused: a device with a
//! fixed buffer wants to know the size up front, and WHIP servers send answers with a length.

use core::net::Ipv4Addr;
use core::ops::Range;

/// An `http://` endpoint this client can reach: an IPv4 literal (there is no DNS resolver in
/// the application) and a port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Url<'a> {
    /// The server's address.
    pub addr: Ipv4Addr,
    /// The TCP port (80 when the URL gives none).
    pub port: u16,
    /// `host[:port]` exactly as written: the `Host` header.
    pub authority: &'a str,
    /// The request target: path and query (`/` when the URL has none).
    pub path: &'a str,
}

/// Why a URL cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum UrlError {
    /// `https://`: needs a TLS client, which this application does not have.
    Https,
    /// Not `http://` at all.
    Scheme,
    /// The host is a name, not an IPv4 address (no DNS here).
    NotAnAddress,
    /// A bad port, user info, spaces or control characters.
    Malformed,
}

/// Parses `http://A.B.C.D[:PORT][/path[?query]][#fragment]`.
pub fn parse_url(url: &str) -> Result<Url<'_>, UrlError> {
    if url.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Err(UrlError::Malformed);
    }
    let rest = strip_prefix_ignore_case(url, "http://").ok_or(
        if strip_prefix_ignore_case(url, "https://").is_some() {
            UrlError::Https
        } else {
            UrlError::Scheme
        },
    )?;
    let rest = rest.split('#').next().unwrap_or(rest);
    let split = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(split);
    if authority.is_empty() || authority.contains('@') {
        return Err(UrlError::Malformed);
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (
            host,
            port.parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or(UrlError::Malformed)?,
        ),
        None => (authority, 80),
    };
    let addr = host.parse().map_err(|_| UrlError::NotAnAddress)?;
    // A query without a path ("http://h?x") still needs a path in the request line; only
    // "/" is written for an empty one, so refuse the odd form rather than invent one.
    let path = match path {
        "" => "/",
        p if p.starts_with('/') => p,
        _ => return Err(UrlError::Malformed),
    };
    Ok(Url {
        addr,
        port,
        authority,
        path,
    })
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| s.get(prefix.len()..))
        .flatten()
}

/// The buffer is too small for what had to be written into it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Full;

/// A cursor over a byte buffer that refuses (rather than truncates) what does not fit.
struct Writer<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl Writer<'_> {
    fn put(&mut self, bytes: &[u8]) -> Result<(), Full> {
        let end = self.len.checked_add(bytes.len()).ok_or(Full)?;
        self.buf
            .get_mut(self.len..end)
            .ok_or(Full)?
            .copy_from_slice(bytes);
        self.len = end;
        Ok(())
    }

    /// A decimal number, without `core::fmt` (kept out of the firmware).
    fn put_number(&mut self, mut n: usize) -> Result<(), Full> {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        loop {
            i -= 1;
            if let Some(d) = digits.get_mut(i) {
                *d = b'0' + (n % 10) as u8;
            }
            n /= 10;
            if n == 0 || i == 0 {
                break;
            }
        }
        self.put(digits.get(i..).unwrap_or_default())
    }
}

/// The request methods WHIP needs (PATCH for trickle and ICE restarts is not implemented).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// Create the session: the body is the offer.
    Post,
    /// End the session at its `Location`.
    Delete,
}

/// Writes a request head into `buf` and returns its length. `body_len` is announced as
/// `Content-Length` (with `Content-Type: application/sdp` for a POST); `token` becomes
/// `Authorization: Bearer <token>` (checked by [`token_ok`] before it gets here).
pub fn write_request(
    buf: &mut [u8],
    method: Method,
    url: &Url<'_>,
    token: Option<&str>,
    body_len: usize,
) -> Result<usize, Full> {
    let mut w = Writer { buf, len: 0 };
    w.put(match method {
        Method::Post => b"POST ",
        Method::Delete => b"DELETE ",
    })?;
    w.put(url.path.as_bytes())?;
    w.put(b" HTTP/1.1\r\nHost: ")?;
    w.put(url.authority.as_bytes())?;
    w.put(b"\r\n")?;
    if let Some(token) = token {
        w.put(b"Authorization: Bearer ")?;
        w.put(token.as_bytes())?;
        w.put(b"\r\n")?;
    }
    if method == Method::Post {
        w.put(b"Content-Type: application/sdp\r\nAccept: application/sdp\r\n")?;
    }
    w.put(b"Content-Length: ")?;
    w.put_number(body_len)?;
    w.put(b"\r\nConnection: close\r\nUser-Agent: peerless-embassy\r\n\r\n")?;
    Ok(w.len)
}

/// A bearer token may go into a header: visible ASCII only (RFC 6750's b64token is a subset;
/// this only guards against breaking the head, the server judges the rest).
#[must_use]
pub fn token_ok(token: &str) -> bool {
    !token.is_empty() && token.bytes().all(|b| b.is_ascii_graphic())
}

/// A parsed response head; `head_len` bytes of the buffer are the head, the body follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Response<'a> {
    /// The status code (100..=999).
    pub status: u16,
    /// `Content-Length`, if sent.
    pub content_length: Option<usize>,
    /// The media type of `Content-Type`, parameters stripped.
    pub content_type: Option<&'a str>,
    /// `Location`, as sent (relative or absolute).
    pub location: Option<&'a str>,
    /// A `Transfer-Encoding` was announced (refused: see the module text).
    pub chunked: bool,
    /// Bytes of the head, including the blank line.
    pub head_len: usize,
}

/// Why a response head is not (yet) usable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// The blank line has not arrived yet: read more.
    Incomplete,
    /// Not an HTTP/1.x status line, a header line without a name or colon, a folded header,
    /// a bad or contradicting `Content-Length`, or not UTF-8.
    Malformed,
}

/// Parses the response head at the start of `buf` (everything up to `\r\n\r\n`).
pub fn parse_response(buf: &[u8]) -> Result<Response<'_>, ParseError> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n");
    let Some(end) = end else {
        // Reject garbage early instead of reading until the buffer is full.
        let first = buf.get(..buf.len().min(5)).unwrap_or_default();
        return if b"HTTP/".starts_with(first) {
            Err(ParseError::Incomplete)
        } else {
            Err(ParseError::Malformed)
        };
    };
    let head = buf
        .get(..end)
        .and_then(|h| core::str::from_utf8(h).ok())
        .ok_or(ParseError::Malformed)?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().ok_or(ParseError::Malformed)?;
    let rest = status_line
        .strip_prefix("HTTP/1.")
        .ok_or(ParseError::Malformed)?;
    let mut parts = rest.splitn(3, ' ');
    let (Some(minor), Some(code)) = (parts.next(), parts.next()) else {
        return Err(ParseError::Malformed);
    };
    if minor.len() != 1 || !minor.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseError::Malformed);
    }
    if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseError::Malformed);
    }
    let status: u16 = code.parse().map_err(|_| ParseError::Malformed)?;
    if status < 100 {
        return Err(ParseError::Malformed);
    }
    let mut response = Response {
        status,
        content_length: None,
        content_type: None,
        location: None,
        chunked: false,
        head_len: end + 4,
    };
    for line in lines {
        let (name, value) = line.split_once(':').ok_or(ParseError::Malformed)?;
        // No name, or whitespace around it (which includes obsolete line folding): RFC 9112
        // §5.1 says reject, since such heads are how responses get smuggled.
        if name.is_empty() || name.bytes().any(|b| b == b' ' || b == b'\t') {
            return Err(ParseError::Malformed);
        }
        let value = value.trim_matches([' ', '\t']);
        if name.eq_ignore_ascii_case("content-length") {
            if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ParseError::Malformed);
            }
            let n = value.parse().map_err(|_| ParseError::Malformed)?;
            if response.content_length.is_some_and(|m| m != n) {
                return Err(ParseError::Malformed);
            }
            response.content_length = Some(n);
        } else if name.eq_ignore_ascii_case("content-type") {
            response.content_type = value.split(';').next().map(str::trim);
        } else if name.eq_ignore_ascii_case("location") {
            response.location = Some(value).filter(|v| !v.is_empty());
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            response.chunked = true;
        }
    }
    Ok(response)
}

/// Where the body is once enough has arrived: `filled` bytes are in the buffer and `closed`
/// says the server has closed its side. `Ok(None)` means read more; `Err` that the body can
/// never be complete (the connection closed short of `Content-Length`).
pub fn body(
    response: &Response<'_>,
    filled: usize,
    closed: bool,
) -> Result<Option<Range<usize>>, Truncated> {
    let start = response.head_len;
    // 1xx, 204 and 304 have no body whatever the head says (RFC 9112 §6.3).
    if response.status < 200 || response.status == 204 || response.status == 304 {
        return Ok(Some(start..start));
    }
    match response.content_length {
        Some(len) => {
            let end = start.checked_add(len).ok_or(Truncated)?;
            if filled >= end {
                Ok(Some(start..end))
            } else if closed {
                Err(Truncated)
            } else {
                Ok(None)
            }
        }
        // No length: the body runs to the end of the connection.
        None if closed => Ok(Some(start..filled.max(start))),
        None => Ok(None),
    }
}

/// The connection closed before the announced body arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Truncated;

/// Why the bytes read so far can never become a usable response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseError {
    /// Not HTTP/1.x (see [`ParseError::Malformed`]).
    Malformed,
    /// The connection closed before the head or the whole body arrived.
    Truncated,
    /// A `Transfer-Encoding` body (refused: see the module text).
    Chunked,
}

/// Where a response stands once `filled` bytes of `buf` have arrived (`closed`: the server
/// has closed its side): `Ok(None)` read more, `Ok(Some(end))` the final response is
/// `buf[..end]`. Interim responses (100 Continue, 103 Early Hints) are removed from the
/// front of `buf` as they complete, `filled` shrinking with them.
pub fn progress(
    buf: &mut [u8],
    filled: &mut usize,
    closed: bool,
) -> Result<Option<usize>, ResponseError> {
    loop {
        let parsed = parse_response(buf.get(..*filled).unwrap_or_default());
        let interim = match parsed {
            Ok(r) if r.status < 200 => r.head_len,
            Ok(r) if r.chunked => return Err(ResponseError::Chunked),
            Ok(r) => {
                return match body(&r, *filled, closed) {
                    Ok(Some(body)) => Ok(Some(body.end)),
                    Ok(None) => Ok(None),
                    Err(Truncated) => Err(ResponseError::Truncated),
                };
            }
            Err(ParseError::Malformed) => return Err(ResponseError::Malformed),
            Err(ParseError::Incomplete) if closed => return Err(ResponseError::Truncated),
            Err(ParseError::Incomplete) => return Ok(None),
        };
        buf.copy_within(interim..*filled, 0);
        *filled -= interim;
    }
}

/// Resolves a `Location` value against the URL the request went to (RFC 3986 §5.2, without
/// dot-segment removal), writing the absolute `http://` URL into `out`. Absolute URLs are
/// kept as they are (an `https://` one fails later, in [`parse_url`]).
pub fn resolve<'o>(base: &Url<'_>, location: &str, out: &'o mut [u8]) -> Result<&'o str, Full> {
    let mut w = Writer { buf: out, len: 0 };
    if strip_prefix_ignore_case(location, "http://").is_some()
        || strip_prefix_ignore_case(location, "https://").is_some()
    {
        w.put(location.as_bytes())?;
    } else if location.starts_with("//") {
        w.put(b"http:")?;
        w.put(location.as_bytes())?;
    } else {
        w.put(b"http://")?;
        w.put(base.authority.as_bytes())?;
        if !location.starts_with('/') {
            // Relative to the directory of the base path (its query dropped).
            let path = base.path.split('?').next().unwrap_or(base.path);
            let dir = path
                .rfind('/')
                .map_or("/", |i| path.get(..=i).unwrap_or("/"));
            w.put(dir.as_bytes())?;
        }
        w.put(location.as_bytes())?;
    }
    let len = w.len;
    core::str::from_utf8(out.get(..len).unwrap_or_default()).map_err(|_| Full)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_and_refuse() {
        let u = parse_url("http://10.0.0.1:8080/whip?app=live#x").unwrap();
        assert_eq!(u.addr, Ipv4Addr::new(10, 0, 0, 1));
        assert_eq!(
            (u.port, u.authority, u.path),
            (8080, "10.0.0.1:8080", "/whip?app=live")
        );
        let u = parse_url("HTTP://192.0.2.1").unwrap();
        assert_eq!((u.port, u.authority, u.path), (80, "192.0.2.1", "/"));
        assert_eq!(parse_url("https://example.com/whip"), Err(UrlError::Https));
        assert_eq!(parse_url("rtsp://10.0.0.1/x"), Err(UrlError::Scheme));
        assert_eq!(
            parse_url("http://whip.example.com/"),
            Err(UrlError::NotAnAddress)
        );
        assert_eq!(parse_url("http://10.0.0.1:0/"), Err(UrlError::Malformed));
        assert_eq!(
            parse_url("http://10.0.0.1:99999/"),
            Err(UrlError::Malformed)
        );
        assert_eq!(parse_url("http://u:p@10.0.0.1/"), Err(UrlError::Malformed));
        assert_eq!(parse_url("http://10.0.0.1/a b"), Err(UrlError::Malformed));
        assert_eq!(
            parse_url("http://10.0.0.1/a\r\nX: y"),
            Err(UrlError::Malformed)
        );
        assert_eq!(parse_url("http:///whip"), Err(UrlError::Malformed));
        assert_eq!(parse_url(""), Err(UrlError::Scheme));
    }

    #[test]
    fn requests_are_written_exactly_and_refuse_to_overflow() {
        let url = parse_url("http://192.0.2.1:8080/whip/endpoint").unwrap();
        let mut buf = [0u8; 512];
        let n = write_request(&mut buf, Method::Post, &url, Some("s3cr3t"), 907).unwrap();
        assert_eq!(
            core::str::from_utf8(&buf[..n]).unwrap(),
            "POST /whip/endpoint HTTP/1.1\r\nHost: 192.0.2.1:8080\r\n\
             Authorization: Bearer s3cr3t\r\nContent-Type: application/sdp\r\n\
             Accept: application/sdp\r\nContent-Length: 907\r\nConnection: close\r\n\
             User-Agent: peerless-embassy\r\n\r\n"
        );
        let n = write_request(&mut buf, Method::Delete, &url, None, 0).unwrap();
        assert_eq!(
            core::str::from_utf8(&buf[..n]).unwrap(),
            "DELETE /whip/endpoint HTTP/1.1\r\nHost: 192.0.2.1:8080\r\nContent-Length: 0\r\n\
             Connection: close\r\nUser-Agent: peerless-embassy\r\n\r\n"
        );
        // Every shorter buffer is refused, none is overrun.
        for len in 0..n {
            assert_eq!(
                write_request(&mut buf[..len], Method::Delete, &url, None, 0),
                Err(Full)
            );
        }
        assert!(token_ok("eyJhbGciOi.J9-_~+/="));
        assert!(!token_ok("a\r\nX-Injected: 1") && !token_ok("two words") && !token_ok(""));
    }

    // A 201 as aiohttp (the test endpoint) sends it, byte for byte.
    const CREATED: &[u8] = b"HTTP/1.1 201 Created\r\nContent-Type: application/sdp\r\n\
        Location: /whip/session/1\r\nContent-Length: 14\r\n\
        Date: Mon, 07 Dec 2026 18:00:00 GMT\r\nServer: Python/3.11 aiohttp/3.9.1\r\n\r\n\
        v=0\r\no=- 1 1\r\n";

    #[test]
    fn a_real_shaped_201_parses() {
        let r = parse_response(CREATED).unwrap();
        assert_eq!(r.status, 201);
        assert_eq!(r.content_type, Some("application/sdp"));
        assert_eq!(r.location, Some("/whip/session/1"));
        assert_eq!(r.content_length, Some(14));
        assert!(!r.chunked);
        let range = body(&r, CREATED.len(), false).unwrap().unwrap();
        assert_eq!(&CREATED[range], b"v=0\r\no=- 1 1\r\n");
    }

    #[test]
    fn every_truncation_asks_for_more_or_fails_cleanly() {
        let head_len = parse_response(CREATED).unwrap().head_len;
        for cut in 0..CREATED.len() {
            match parse_response(&CREATED[..cut]) {
                Err(ParseError::Incomplete) => assert!(cut < head_len),
                Ok(r) => {
                    assert!(cut >= head_len);
                    assert_eq!(body(&r, cut, false), Ok(None));
                    assert_eq!(body(&r, cut, true), Err(Truncated));
                }
                Err(ParseError::Malformed) => panic!("prefix of {cut} bytes called malformed"),
            }
        }
    }

    #[test]
    fn errors_and_redirects_parse() {
        let r = parse_response(
            b"HTTP/1.1 307 Temporary Redirect\r\nlocation: http://192.0.2.9/whip\r\n\
              content-length: 0\r\n\r\n",
        )
        .unwrap();
        assert_eq!((r.status, r.location), (307, Some("http://192.0.2.9/whip")));
        assert_eq!(
            body(&r, r.head_len, false),
            Ok(Some(r.head_len..r.head_len))
        );
        let r = parse_response(b"HTTP/1.0 401 Unauthorized\r\n\r\n").unwrap();
        assert_eq!((r.status, r.content_length, r.location), (401, None, None));
        // No length: the body runs until the server closes.
        assert_eq!(body(&r, r.head_len + 3, false), Ok(None));
        assert_eq!(
            body(&r, r.head_len + 3, true),
            Ok(Some(r.head_len..r.head_len + 3))
        );
        let r = parse_response(b"HTTP/1.1 503 \r\nRetry-After: 10\r\n\r\n").unwrap();
        assert_eq!(r.status, 503);
        let r = parse_response(b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n").unwrap();
        assert_eq!(
            body(&r, r.head_len, false),
            Ok(Some(r.head_len..r.head_len))
        );
        let r =
            parse_response(b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n").unwrap();
        assert!(r.chunked);
    }

    #[test]
    fn interim_responses_are_skipped_at_every_split() {
        let mut wire = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\n\
            Link: </x>; rel=preload\r\n\r\n"
            .to_vec();
        wire.extend_from_slice(CREATED);
        // Arriving in two reads split anywhere: never done early, never an error, and the
        // final response ends up at the front of the buffer, whole.
        for split in 0..=wire.len() {
            let mut buf = [0u8; 512];
            let mut filled = 0;
            let mut done = None;
            for part in [&wire[..split], &wire[split..]] {
                buf[filled..filled + part.len()].copy_from_slice(part);
                filled += part.len();
                done = progress(&mut buf, &mut filled, false).unwrap();
                if filled < CREATED.len() {
                    assert_eq!(done, None, "split {split}");
                }
            }
            assert_eq!(done, Some(CREATED.len()), "split {split}");
            assert_eq!(&buf[..CREATED.len()], CREATED);
        }
        let mut buf = *b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 20";
        let mut filled = buf.len();
        assert_eq!(progress(&mut buf, &mut filled, false), Ok(None));
        assert_eq!(
            progress(&mut buf, &mut filled, true),
            Err(ResponseError::Truncated)
        );
        let mut buf = *b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n";
        let mut filled = buf.len();
        assert_eq!(
            progress(&mut buf, &mut filled, false),
            Err(ResponseError::Chunked)
        );
        let mut buf = *b"220 smtp.example ESMTP\r\n";
        let mut filled = buf.len();
        assert_eq!(
            progress(&mut buf, &mut filled, false),
            Err(ResponseError::Malformed)
        );
    }

    #[test]
    fn garbage_is_malformed_not_a_panic() {
        for bad in [
            &b"SSH-2.0-OpenSSH_9.2\r\n\r\n"[..],
            b"<html>hello</html>",
            b"HTTP/2 200\r\n\r\n",
            b"HTTP/1.1 20 OK\r\n\r\n",
            b"HTTP/1.1 2010 OK\r\n\r\n",
            b"HTTP/1.1 abc OK\r\n\r\n",
            b"HTTP/1.1 099 Low\r\n\r\n",
            b"HTTP/1.1\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nNoColonHere\r\n\r\n",
            b"HTTP/1.1 200 OK\r\n: empty name\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length : 3\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nX: a\r\n folded\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 1, 1\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
            b"HTTP/1.1 200 \xff\xfe\r\n\r\n",
            b"\0\0\0\0\0\0\0\0",
        ] {
            assert_eq!(
                parse_response(bad),
                Err(ParseError::Malformed),
                "{:?}",
                core::str::from_utf8(bad)
            );
        }
        // A length near usize::MAX cannot overflow the body arithmetic.
        let max = b"HTTP/1.1 201 Created\r\nContent-Length: 18446744073709551615\r\n\r\n";
        let r = parse_response(max).unwrap();
        assert_eq!(body(&r, max.len(), false), Err(Truncated));
    }

    #[test]
    fn locations_resolve_like_a_browser() {
        let base = parse_url("http://192.0.2.1:8080/whip/endpoint?x=1").unwrap();
        let mut out = [0u8; 64];
        let cases = [
            ("/whip/session/7", "http://192.0.2.1:8080/whip/session/7"),
            ("session/7", "http://192.0.2.1:8080/whip/session/7"),
            ("http://192.0.2.9/r/1", "http://192.0.2.9/r/1"),
            ("https://cdn.example/r/1", "https://cdn.example/r/1"),
            ("//192.0.2.9:81/r", "http://192.0.2.9:81/r"),
        ];
        for (location, want) in cases {
            assert_eq!(resolve(&base, location, &mut out), Ok(want), "{location}");
        }
        let root = parse_url("http://192.0.2.1").unwrap();
        assert_eq!(resolve(&root, "s", &mut out), Ok("http://192.0.2.1/s"));
        let mut small = [0u8; 20];
        assert_eq!(resolve(&base, "/whip/session/7", &mut small), Err(Full));
    }
}
