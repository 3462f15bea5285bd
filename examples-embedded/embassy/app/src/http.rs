//! The smallest HTTP/1.1 the WHIP shape needs: one request per connection, a head with a
//! `Content-Length` body, one response, then close.
//!
//! ```text
//!   client                                   firmware
//!     | POST /whip  (Content-Type: application/sdp, offer)   |
//!     |----------------------------------------------------->|  parse_head, route
//!     |   201 Created  (Location: /whip/session, answer)     |  Peer answers
//!     |<-----------------------------------------------------|
//!     | OPTIONS *  (a browser's CORS preflight)              |
//!     |----------------------------------------------------->|  204 + Access-Control-*
//!     | GET /      (the demo page)                           |
//!     |----------------------------------------------------->|  200 text/html
//!     | DELETE /whip/session                                 |
//!     |----------------------------------------------------->|  200, the Peer closes
//! ```
//!
//! Everything here is pure (bytes in, bytes out) so it is tested on the host; the TCP loop is
//! in [`crate::run_http`]. Bodies must say their length: chunked requests are refused with
//! 411, as a device with a fixed buffer cannot take an unbounded body.

use peerless_base::Writer;
use peerless_base::text::Ascii;

/// The request methods the endpoint tells apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// `GET`
    Get,
    /// `POST`
    Post,
    /// `OPTIONS` (CORS preflight)
    Options,
    /// `DELETE` (WHIP: end the session)
    Delete,
    /// Anything else.
    Other,
}

/// A parsed request head; `head_len` bytes of the buffer are the head, the body follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Head<'a> {
    /// The method.
    pub method: Method,
    /// The request target, without any `?query`.
    pub path: &'a str,
    /// `Content-Length` (0 when absent).
    pub content_length: usize,
    /// The media type of `Content-Type`, parameters stripped (`application/sdp`).
    pub content_type: Option<&'a str>,
    /// The request announced `Transfer-Encoding` (which we refuse).
    pub chunked: bool,
    /// Bytes of the head, including the blank line.
    pub head_len: usize,
}

/// Why a request head is not (yet) usable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeadError {
    /// The blank line has not arrived yet: read more.
    Incomplete,
    /// Not HTTP/1.x, or a header line without a colon, or a bad `Content-Length`.
    Malformed,
}

/// Parses the head at the start of `buf` (everything up to and including `\r\n\r\n`).
pub fn parse_head(buf: &[u8]) -> Result<Head<'_>, HeadError> {
    let end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or(HeadError::Incomplete)?;
    let head = core::str::from_utf8(&buf[..end]).map_err(|_| HeadError::Malformed)?;
    let mut lines = head.split("\r\n");
    let request_line = lines.next().ok_or(HeadError::Malformed)?;
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(HeadError::Malformed);
    };
    if !version.starts_with("HTTP/1.") || target.is_empty() {
        return Err(HeadError::Malformed);
    }
    let method = match method {
        "GET" => Method::Get,
        "POST" => Method::Post,
        "OPTIONS" => Method::Options,
        "DELETE" => Method::Delete,
        _ => Method::Other,
    };
    let path = target.split('?').next().unwrap_or(target);
    let mut content_length = 0;
    let mut content_type = None;
    let mut chunked = false;
    for line in lines {
        let (name, value) = line.split_once(':').ok_or(HeadError::Malformed)?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            content_length = value.parse().map_err(|_| HeadError::Malformed)?;
        } else if name.eq_ignore_ascii_case("content-type") {
            content_type = value.split(';').next().map(str::trim);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = true;
        }
    }
    Ok(Head {
        method,
        path,
        content_length,
        content_type,
        chunked,
        head_len: end + 4,
    })
}

/// Where the endpoint mounts its WHIP resource.
pub const WHIP_PATH: &str = "/whip";
/// The `Location` of the session a successful POST creates.
pub const SESSION_PATH: &str = "/whip/session";

/// What to do with a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// A browser's CORS preflight: 204 with the `Access-Control-*` headers.
    Preflight,
    /// `GET /`: the demo page.
    Page,
    /// `POST /whip` with an SDP offer of this many bytes.
    Offer(usize),
    /// `DELETE /whip/session`: end the running session (WHIP, RFC 9725 §4.3).
    Close,
    /// A refusal with this status.
    Refuse(Status),
}

/// Decides what a request gets, before its body is read.
pub fn route(head: &Head<'_>, max_body: usize) -> Route {
    match (head.method, head.path) {
        (Method::Options, _) => Route::Preflight,
        (Method::Delete, SESSION_PATH) => Route::Close,
        (Method::Get, "/" | "/index.html") => Route::Page,
        (Method::Post, WHIP_PATH) => {
            if head.chunked {
                Route::Refuse(Status::LENGTH_REQUIRED)
            } else if head.content_type != Some("application/sdp") {
                Route::Refuse(Status::UNSUPPORTED_MEDIA_TYPE)
            } else if head.content_length == 0 {
                Route::Refuse(Status::BAD_REQUEST)
            } else if head.content_length > max_body {
                Route::Refuse(Status::PAYLOAD_TOO_LARGE)
            } else {
                Route::Offer(head.content_length)
            }
        }
        (_, "/" | "/index.html" | WHIP_PATH | SESSION_PATH) => {
            Route::Refuse(Status::METHOD_NOT_ALLOWED)
        }
        _ => Route::Refuse(Status::NOT_FOUND),
    }
}

/// An HTTP status code (a newtype so any code round-trips; the ones we send are consts).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Status(pub u16);

impl Status {
    /// 200
    pub const OK: Status = Status(200);
    /// 201: the WHIP session was created; the body is the answer.
    pub const CREATED: Status = Status(201);
    /// 204
    pub const NO_CONTENT: Status = Status(204);
    /// 400: the offer was refused by the Peer, or the request was malformed.
    pub const BAD_REQUEST: Status = Status(400);
    /// 404
    pub const NOT_FOUND: Status = Status(404);
    /// 405
    pub const METHOD_NOT_ALLOWED: Status = Status(405);
    /// 411: chunked bodies are refused.
    pub const LENGTH_REQUIRED: Status = Status(411);
    /// 413: the offer is larger than [`crate::sizes::OFFER_MAX`].
    pub const PAYLOAD_TOO_LARGE: Status = Status(413);
    /// 415: WHIP offers are `application/sdp`.
    pub const UNSUPPORTED_MEDIA_TYPE: Status = Status(415);
    /// 503: the Peer did not answer in time.
    pub const SERVICE_UNAVAILABLE: Status = Status(503);

    /// The reason phrase.
    pub const fn reason(self) -> &'static str {
        match self.0 {
            200 => "OK",
            201 => "Created",
            204 => "No Content",
            400 => "Bad Request",
            404 => "Not Found",
            405 => "Method Not Allowed",
            411 => "Length Required",
            413 => "Content Too Large",
            415 => "Unsupported Media Type",
            503 => "Service Unavailable",
            _ => "",
        }
    }
}

/// The response head did not fit the buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeadTooLarge;

/// Writes a response head for a body of `body_len` bytes into `buf`; returns its length.
/// Every response allows any origin, so a page served elsewhere can POST its offer here.
pub fn write_head(
    buf: &mut [u8],
    status: Status,
    content_type: Option<&str>,
    location: Option<&str>,
    body_len: usize,
) -> Result<usize, HeadTooLarge> {
    let mut w = Writer::new(buf);
    // Pieces and `Ascii` numbers, not `write!`: `core::fmt`'s machinery is ~1.9 KB of a board's
    // flash, and nothing else in the firmware needs it.
    let code = Ascii::decimal(u64::from(status.0));
    let length = Ascii::decimal(body_len as u64);
    for piece in ["HTTP/1.1 ", code.as_str(), " ", status.reason(), "\r\n"] {
        w.bytes(piece.as_bytes());
    }
    if let Some(t) = content_type {
        for piece in ["Content-Type: ", t, "\r\n"] {
            w.bytes(piece.as_bytes());
        }
    }
    if let Some(l) = location {
        for piece in ["Location: ", l, "\r\n"] {
            w.bytes(piece.as_bytes());
        }
    }
    w.bytes(b"Content-Length: ");
    w.bytes(length.as_str().as_bytes());
    w.bytes(
        b"\r\n\
          Access-Control-Allow-Origin: *\r\n\
          Access-Control-Allow-Methods: GET, POST, DELETE, OPTIONS\r\n\
          Access-Control-Allow-Headers: Content-Type\r\n\
          Access-Control-Expose-Headers: Location\r\n\
          Connection: close\r\n\r\n",
    );
    // A head that does not fit is refused whole, never sent truncated.
    w.finish().map_err(|_| HeadTooLarge)
}

/// The demo page, with what a build adds: HTML before the chat controls, and script lines run
/// right after the `RTCPeerConnection` is made (the media build's video element and recvonly
/// transceivers). A browser makes an offer (no ICE servers, complete gathering as WHIP
/// expects), POSTs it to [`WHIP_PATH`], and shows every echo. `window.pc` is there for a test
/// driver's `getStats`.
macro_rules! demo_page {
    ($html:literal, $script:literal) => {
        concat!(
            r#"<!doctype html><meta charset=utf-8><title>peerless on embassy</title>
<h1>peerless on embassy</h1>"#,
            $html,
            r#"<input id=m value="hello"><button id=s disabled>send</button><pre id=l></pre>
<script>
const log = t => l.textContent += t + "\n";
(async () => {
  const pc = window.pc = new RTCPeerConnection({iceServers: []});
"#,
            $script,
            r#"  const ch = pc.createDataChannel("echo");
  pc.onconnectionstatechange = () => log("connection: " + pc.connectionState);
  ch.onopen = () => { s.disabled = false; log("channel open"); };
  ch.onmessage = e => log("echo: " + e.data);
  s.onclick = () => ch.send(m.value);
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise(r => { if (pc.iceGatheringState === "complete") r();
    pc.onicegatheringstatechange = () => pc.iceGatheringState === "complete" && r(); });
  const res = await fetch("/whip", {method: "POST", headers: {"Content-Type": "application/sdp"},
    body: pc.localDescription.sdp});
  if (res.status !== 201) { log("offer refused: " + res.status); return; }
  await pc.setRemoteDescription({type: "answer", sdp: await res.text()});
})().catch(e => log("error: " + e));
</script>
"#
        )
    };
}
// The media build's page is the same page with its additions (`media::PAGE`).
#[cfg_attr(not(feature = "media"), allow(unused_imports))]
pub(crate) use demo_page;

/// The demo page served at `/`: a data channel only.
pub const PAGE: &str = demo_page!("", "");

#[cfg(test)]
mod tests {
    use super::*;

    const OFFER_REQUEST: &[u8] = b"POST /whip HTTP/1.1\r\nHost: 192.0.2.2:8080\r\n\
        content-type: application/sdp; charset=utf-8\r\nContent-Length: 5\r\n\r\nv=0\r\n";

    #[test]
    fn a_whip_post_is_parsed_and_routed_to_the_offer() {
        let head = parse_head(OFFER_REQUEST).unwrap();
        assert_eq!(head.method, Method::Post);
        assert_eq!(head.path, "/whip");
        assert_eq!(head.content_type, Some("application/sdp"));
        assert_eq!(head.content_length, 5);
        assert_eq!(&OFFER_REQUEST[head.head_len..], b"v=0\r\n");
        assert_eq!(route(&head, 6144), Route::Offer(5));
        assert_eq!(route(&head, 4), Route::Refuse(Status::PAYLOAD_TOO_LARGE));
    }

    #[test]
    fn a_head_without_its_blank_line_is_incomplete_at_every_split() {
        let end = OFFER_REQUEST.len() - 5;
        for cut in 0..end {
            assert_eq!(
                parse_head(&OFFER_REQUEST[..cut]),
                Err(HeadError::Incomplete),
                "{cut}"
            );
        }
        assert!(parse_head(&OFFER_REQUEST[..end]).is_ok());
    }

    #[test]
    fn refusals_carry_the_status_a_whip_client_expects() {
        let r = |req: &[u8]| route(&parse_head(req).unwrap(), 6144);
        assert_eq!(
            r(b"POST /whip HTTP/1.1\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\n"),
            Route::Refuse(Status::UNSUPPORTED_MEDIA_TYPE)
        );
        assert_eq!(
            r(b"POST /whip HTTP/1.1\r\nContent-Type: application/sdp\r\nTransfer-Encoding: chunked\r\n\r\n"),
            Route::Refuse(Status::LENGTH_REQUIRED)
        );
        assert_eq!(
            r(b"POST /whip HTTP/1.1\r\nContent-Type: application/sdp\r\n\r\n"),
            Route::Refuse(Status::BAD_REQUEST)
        );
        assert_eq!(
            r(b"GET /whip HTTP/1.1\r\n\r\n"),
            Route::Refuse(Status::METHOD_NOT_ALLOWED)
        );
        assert_eq!(
            r(b"GET /x HTTP/1.1\r\n\r\n"),
            Route::Refuse(Status::NOT_FOUND)
        );
        assert_eq!(r(b"GET /?a=b HTTP/1.0\r\n\r\n"), Route::Page);
        assert_eq!(r(b"OPTIONS /whip HTTP/1.1\r\n\r\n"), Route::Preflight);
        assert_eq!(r(b"DELETE /whip/session HTTP/1.1\r\n\r\n"), Route::Close);
        assert_eq!(
            r(b"GET /whip/session HTTP/1.1\r\n\r\n"),
            Route::Refuse(Status::METHOD_NOT_ALLOWED)
        );
        assert_eq!(
            r(b"DELETE /whip HTTP/1.1\r\n\r\n"),
            Route::Refuse(Status::METHOD_NOT_ALLOWED)
        );
    }

    #[test]
    fn malformed_heads_are_refused_not_trusted() {
        for req in [
            &b"POST /whip\r\n\r\n"[..],
            b"POST /whip SIP/2.0\r\n\r\n",
            b"POST /whip HTTP/1.1\r\nno colon here\r\n\r\n",
            b"POST /whip HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
            b"POST /whip HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
            b"POST  /whip HTTP/1.1\r\n\r\n",
            b"\xff\xfe HTTP/1.1\r\n\r\n",
        ] {
            assert_eq!(parse_head(req), Err(HeadError::Malformed), "{req:?}");
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        // A cheap deterministic sweep (xorshift) over short inputs built from HTTP-ish bytes.
        let alphabet = b"GETPOS /whip\r\n:HTP1.0Content-Length 123\xff";
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            let mut buf = [0u8; 48];
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % 48) as usize;
            for (i, b) in buf[..len].iter_mut().enumerate() {
                *b = alphabet[((x >> (i % 56)) as usize + i * 7) % alphabet.len()];
            }
            if let Ok(h) = parse_head(&buf[..len]) {
                assert!(h.head_len <= len);
                let _ = route(&h, 100);
            }
        }
    }

    #[test]
    fn the_response_head_says_its_length_and_allows_any_origin() {
        let mut buf = [0u8; 512];
        let n = write_head(
            &mut buf,
            Status::CREATED,
            Some("application/sdp"),
            Some(SESSION_PATH),
            42,
        )
        .unwrap();
        let text = core::str::from_utf8(&buf[..n]).unwrap();
        assert!(text.starts_with("HTTP/1.1 201 Created\r\n"), "{text}");
        assert!(text.contains("\r\nContent-Type: application/sdp\r\n"));
        assert!(text.contains("\r\nLocation: /whip/session\r\n"));
        assert!(text.contains("\r\nContent-Length: 42\r\n"));
        assert!(text.contains("\r\nAccess-Control-Allow-Origin: *\r\n"));
        assert!(text.ends_with("\r\n\r\n"));
        assert_eq!(
            write_head(&mut buf[..20], Status::OK, None, None, 0),
            Err(HeadTooLarge)
        );
    }
}
