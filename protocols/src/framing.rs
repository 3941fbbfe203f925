//! The framing every Waku request/response protocol uses: one protobuf per frame, prefixed by
//! its length as an unsigned LEB128 varint (nim-libp2p `writeLp`/`readLp`, go `pbio`).
//!
//! The declared length is checked against the caller's limit before any of the body is read or
//! allocated, so a peer cannot make us buffer more than the protocol allows.

use std::io;

use bytes::{Buf, Bytes};
use futures::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The longest LEB128 encoding of a u64.
pub const MAX_VARINT_LEN: usize = 10;

/// The body buffer starts at this size (or the declared length, if smaller) and doubles as
/// bytes arrive, so a peer that declares a large frame and then stalls costs us little memory.
const INITIAL_BODY_CHUNK: usize = 8 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The stream ended cleanly before the first byte of a frame: the peer closed an idle
    /// stream, or has nothing more to send.
    #[error("stream ended before a frame began")]
    Eof,
    /// The stream ended inside a frame. `declared` is `None` when it ended inside the length
    /// prefix; `received` counts the bytes of the prefix or of the body that did arrive.
    #[error("stream ended inside a frame: {}", describe_truncation(.declared, .received))]
    Truncated {
        declared: Option<u64>,
        received: usize,
    },
    #[error("frame declares {declared} bytes, over this protocol's limit of {limit}")]
    TooLarge { declared: u64, limit: usize },
    #[error("frame length prefix is longer than {MAX_VARINT_LEN} bytes or overflows u64")]
    Malformed,
    #[error("i/o error on the stream: {0}")]
    Io(#[from] io::Error),
}

fn describe_truncation(declared: &Option<u64>, received: &usize) -> String {
    match declared {
        None => format!("after {received} byte(s) of the length prefix"),
        Some(declared) => format!("after {received} of {declared} body bytes"),
    }
}

/// A frame body that is not a valid protobuf of the expected type.
#[derive(Debug, thiserror::Error)]
#[error("could not decode a {message}: {source}")]
pub struct DecodeError {
    /// The protobuf message type that was expected.
    pub message: &'static str,
    #[source]
    pub source: prost::DecodeError,
}

/// What can go wrong reading one protobuf from a stream.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Frame(#[from] FrameError),
    #[error(transparent)]
    Decode(#[from] DecodeError),
}

/// Why [`decode_varint`] found no varint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VarintError {
    #[error("the buffer ends inside the varint")]
    Incomplete,
    #[error("the varint is longer than {MAX_VARINT_LEN} bytes or overflows u64")]
    Overflow,
}

/// Accumulates a varint one byte at a time; shared by the async reader and [`decode_varint`].
#[derive(Default)]
struct VarintDecoder {
    value: u64,
    len: usize,
}

impl VarintDecoder {
    /// Feeds one byte; `Ok(Some(value))` once the varint is complete.
    fn push(&mut self, byte: u8) -> Result<Option<u64>, VarintError> {
        let low = u64::from(byte & 0x7f);
        // The tenth byte holds only bit 63; anything more, or an eleventh byte, overflows.
        if self.len == MAX_VARINT_LEN - 1 && (low > 1 || byte & 0x80 != 0) {
            return Err(VarintError::Overflow);
        }
        self.value |= low << (7 * self.len);
        self.len += 1;
        if byte & 0x80 == 0 {
            Ok(Some(self.value))
        } else {
            Ok(None)
        }
    }
}

/// Decodes an unsigned LEB128 varint from the front of `buf`: the value and how many bytes it
/// took. Non-minimal encodings are accepted, as every Waku implementation does.
pub fn decode_varint(buf: &[u8]) -> Result<(u64, usize), VarintError> {
    let mut decoder = VarintDecoder::default();
    for (index, byte) in buf.iter().enumerate() {
        if let Some(value) = decoder.push(*byte)? {
            return Ok((value, index + 1));
        }
    }
    Err(VarintError::Incomplete)
}

/// Writes `value` as an unsigned LEB128 varint into `out`, returning the bytes used.
pub fn encode_varint(mut value: u64, out: &mut [u8; MAX_VARINT_LEN]) -> &[u8] {
    let mut len = 0;
    loop {
        let low = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out[len] = low;
            len += 1;
            break;
        }
        out[len] = low | 0x80;
        len += 1;
    }
    &out[..len]
}

/// `body` with its length prefix, ready to write.
pub fn encode_frame(body: &[u8]) -> Vec<u8> {
    let mut prefix = [0u8; MAX_VARINT_LEN];
    let prefix = encode_varint(body.len() as u64, &mut prefix);
    let mut frame = Vec::with_capacity(prefix.len() + body.len());
    frame.extend_from_slice(prefix);
    frame.extend_from_slice(body);
    frame
}

/// Reads into `buf`, retrying on `Interrupted`; `Ok(0)` means end of stream.
async fn read_some<R: AsyncRead + Unpin>(io: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match io.read(buf).await {
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// Reads one frame and returns its body.
///
/// A declared length above `max_len` is refused with [`FrameError::TooLarge`] before any body
/// byte is read. End of stream before the first byte is [`FrameError::Eof`]; anywhere later it
/// is [`FrameError::Truncated`].
pub async fn read_frame<R: AsyncRead + Unpin>(
    io: &mut R,
    max_len: usize,
) -> Result<Bytes, FrameError> {
    // Byte by byte, so nothing past the prefix is consumed before the limit check.
    let mut decoder = VarintDecoder::default();
    let mut received = 0usize;
    let declared = loop {
        let mut byte = [0u8; 1];
        if read_some(io, &mut byte).await? == 0 {
            return Err(if received == 0 {
                FrameError::Eof
            } else {
                FrameError::Truncated {
                    declared: None,
                    received,
                }
            });
        }
        received += 1;
        match decoder.push(byte[0]) {
            Ok(Some(value)) => break value,
            Ok(None) => {}
            Err(_) => return Err(FrameError::Malformed),
        }
    };

    let len = match usize::try_from(declared) {
        Ok(len) if len <= max_len => len,
        _ => {
            return Err(FrameError::TooLarge {
                declared,
                limit: max_len,
            });
        }
    };

    // `body.len()` is the zeroed, allocated part; `filled` the part the peer has sent.
    let mut body: Vec<u8> = Vec::new();
    let mut filled = 0usize;
    while filled < len {
        if filled == body.len() {
            let grow = (len - filled).min(body.len().max(INITIAL_BODY_CHUNK));
            body.resize(filled + grow, 0);
        }
        let n = read_some(io, &mut body[filled..]).await?;
        if n == 0 {
            return Err(FrameError::Truncated {
                declared: Some(declared),
                received: filled,
            });
        }
        filled += n;
    }
    Ok(Bytes::from(body))
}

/// Writes one frame (length prefix, then `body`) and flushes. The stream stays open.
pub async fn write_frame<W: AsyncWrite + Unpin>(io: &mut W, body: &[u8]) -> io::Result<()> {
    let mut prefix = [0u8; MAX_VARINT_LEN];
    let prefix = encode_varint(body.len() as u64, &mut prefix);
    io.write_all(prefix).await?;
    io.write_all(body).await?;
    io.flush().await
}

/// Decodes a protobuf, naming the expected type in the error. Given a [`Bytes`] buffer, the
/// message's bytes fields share it instead of copying.
pub fn decode<M: prost::Message + Default>(buf: impl Buf) -> Result<M, DecodeError> {
    M::decode(buf).map_err(|source| DecodeError {
        message: short_type_name::<M>(),
        source,
    })
}

fn short_type_name<M>() -> &'static str {
    let full = std::any::type_name::<M>();
    full.rsplit("::").next().unwrap_or(full)
}

/// Reads one frame of at most `max_len` bytes and decodes it as `M`.
pub async fn read_message<M, R>(io: &mut R, max_len: usize) -> Result<M, ReadError>
where
    M: prost::Message + Default,
    R: AsyncRead + Unpin,
{
    let body = read_frame(io, max_len).await?;
    Ok(decode(body)?)
}

/// Encodes `message` and writes it as one frame.
pub async fn write_message<M, W>(io: &mut W, message: &M) -> io::Result<()>
where
    M: prost::Message,
    W: AsyncWrite + Unpin,
{
    write_frame(io, &message.encode_to_vec()).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;
    use futures::io::Cursor;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    fn read_all_frames(bytes: &[u8], max_len: usize) -> (Vec<Bytes>, FrameError) {
        let mut io = Cursor::new(bytes.to_vec());
        let mut frames = Vec::new();
        loop {
            match block_on(read_frame(&mut io, max_len)) {
                Ok(frame) => frames.push(frame),
                Err(err) => return (frames, err),
            }
        }
    }

    #[test]
    fn varint_encoding_matches_leb128() {
        let mut out = [0u8; MAX_VARINT_LEN];
        assert_eq!(encode_varint(0, &mut out), [0x00]);
        assert_eq!(encode_varint(127, &mut out), [0x7f]);
        assert_eq!(encode_varint(128, &mut out), [0x80, 0x01]);
        assert_eq!(encode_varint(300, &mut out), [0xac, 0x02]);
        assert_eq!(
            encode_varint(u64::MAX, &mut out),
            [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]
        );
    }

    #[test]
    fn varint_decoding_edges() {
        assert_eq!(decode_varint(&[0xac, 0x02, 0x99]), Ok((300, 2)));
        assert_eq!(decode_varint(&[0x80, 0x00]), Ok((0, 2)));
        let max = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(decode_varint(&max), Ok((u64::MAX, 10)));
        let over = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
        assert_eq!(decode_varint(&over), Err(VarintError::Overflow));
        let eleven = [0x80u8; 11];
        assert_eq!(decode_varint(&eleven), Err(VarintError::Overflow));
        assert_eq!(decode_varint(&[0x80, 0x80]), Err(VarintError::Incomplete));
        assert_eq!(decode_varint(&[]), Err(VarintError::Incomplete));
    }

    #[test]
    fn varint_round_trips() {
        let mut out = [0u8; MAX_VARINT_LEN];
        for value in [1u64, 2, 255, 256, 16_383, 16_384, 1 << 35, (1 << 63) + 5] {
            let encoded = encode_varint(value, &mut out).to_vec();
            assert_eq!(decode_varint(&encoded), Ok((value, encoded.len())));
        }
    }

    #[test]
    fn multi_frame_stream_then_clean_eof() {
        let mut stream = encode_frame(b"first");
        stream.extend(encode_frame(b""));
        stream.extend(encode_frame(&[7u8; 300]));
        let (frames, end) = read_all_frames(&stream, 1024);
        assert_eq!(frames.len(), 3);
        assert_eq!(&frames[0][..], b"first");
        assert!(frames[1].is_empty());
        assert_eq!(&frames[2][..], &[7u8; 300][..]);
        assert!(matches!(end, FrameError::Eof), "{end:?}");
    }

    #[test]
    fn exact_limit_passes_and_one_over_is_refused() {
        let body = vec![1u8; 1024];
        let frame = encode_frame(&body);
        let got = block_on(read_frame(&mut Cursor::new(frame.clone()), 1024)).expect("at limit");
        assert_eq!(got.len(), 1024);
        let err = block_on(read_frame(&mut Cursor::new(frame), 1023)).expect_err("over limit");
        assert!(
            matches!(
                err,
                FrameError::TooLarge {
                    declared: 1024,
                    limit: 1023
                }
            ),
            "{err:?}"
        );
    }

    /// A reader that serves a prefix and then fails the test if anything reads further.
    struct PrefixOnly {
        prefix: Vec<u8>,
        pos: usize,
    }

    impl AsyncRead for PrefixOnly {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
            buf: &mut [u8],
        ) -> Poll<io::Result<usize>> {
            if self.pos >= self.prefix.len() {
                return Poll::Ready(Err(io::Error::other("body was read")));
            }
            let n = buf.len().min(self.prefix.len() - self.pos);
            let start = self.pos;
            buf[..n].copy_from_slice(&self.prefix[start..start + n]);
            self.pos += n;
            Poll::Ready(Ok(n))
        }
    }

    #[test]
    fn oversized_length_is_refused_without_reading_the_body() {
        let mut out = [0u8; MAX_VARINT_LEN];
        let mut io = PrefixOnly {
            prefix: encode_varint(u64::MAX, &mut out).to_vec(),
            pos: 0,
        };
        let err = block_on(read_frame(&mut io, 1024)).expect_err("refused");
        assert!(
            matches!(
                err,
                FrameError::TooLarge {
                    declared: u64::MAX,
                    limit: 1024
                }
            ),
            "{err:?}"
        );
        assert_eq!(io.pos, io.prefix.len());
    }

    #[test]
    fn eof_inside_prefix_and_body_is_truncated() {
        let (_, err) = read_all_frames(&[0x80, 0x80], 1024);
        assert!(
            matches!(
                err,
                FrameError::Truncated {
                    declared: None,
                    received: 2
                }
            ),
            "{err:?}"
        );

        let mut frame = encode_frame(b"hello world");
        frame.truncate(frame.len() - 3);
        let (_, err) = read_all_frames(&frame, 1024);
        assert!(
            matches!(
                err,
                FrameError::Truncated {
                    declared: Some(11),
                    received: 8
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn overlong_prefix_is_malformed() {
        let (_, err) = read_all_frames(&[0xff; 11], usize::MAX);
        assert!(matches!(err, FrameError::Malformed), "{err:?}");
    }

    #[test]
    fn large_body_arrives_in_pieces() {
        // Larger than the first chunk, so the buffer has to grow several times.
        let body: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let got = block_on(read_frame(
            &mut Cursor::new(encode_frame(&body)),
            body.len(),
        ))
        .expect("reads");
        assert_eq!(&got[..], &body[..]);
    }

    #[test]
    fn write_frame_matches_encode_frame() {
        let mut out = Cursor::new(Vec::new());
        block_on(write_frame(&mut out, &[9u8; 200])).expect("writes");
        assert_eq!(out.into_inner(), encode_frame(&[9u8; 200]));
    }

    #[test]
    fn decode_error_names_the_type() {
        // Field 1 declared as a 5-byte string but only 1 byte present.
        let err = decode::<crate::store::pb::StoreQueryRequest>(&[0x0a, 0x05, 0x61][..])
            .expect_err("truncated");
        assert_eq!(err.message, "StoreQueryRequest");
    }
}
