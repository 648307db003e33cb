//! A tenant's logo as it is stored and served (issue #16): a PNG or JPEG decoded and
//! encoded again (whatever else the file carried — metadata, trailing bytes, a
//! polyglot's second reading — is gone), or an SVG rebuilt element by element from
//! an allow-list. The type is judged by the content, never by a file name or a
//! declared type. What cannot be made safe is refused with the reason.

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::error::LimitErrorKind;
use image::{DynamicImage, ImageError, ImageFormat, ImageReader, Limits};
use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::Reader;
use sha2::{Digest, Sha256};
use std::io::Cursor;

/// The largest logo accepted, as uploaded and as stored.
pub const MAX_BYTES: usize = 256 * 1024;
/// The largest width and height of a raster logo as uploaded.
pub const MAX_SIDE: u32 = 4096;
/// The largest width and height of a raster logo as stored: larger ones are scaled
/// down (a logo shows at most a few hundred pixels wide).
pub const STORED_SIDE: u32 = 1024;
/// The most bytes a decoded image of the largest size takes (16-bit RGBA, 8 bytes a
/// pixel), and some room for the decoder: every image within [`MAX_SIDE`] decodes.
const MAX_DECODED: u64 = MAX_SIDE as u64 * MAX_SIDE as u64 * 8 + 16 * 1024 * 1024;
/// Below this side any logo fits [`MAX_BYTES`] however it is encoded (128 × 128
/// RGBA is 64 KiB raw), so scaling down to fit ends there.
const SMALLEST_SIDE: u32 = 128;
/// The quality of a JPEG logo encoded again.
const JPEG_QUALITY: u8 = 85;
/// How deep an SVG's elements may nest.
const MAX_DEPTH: usize = 64;

/// A logo's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogoKind {
    Png,
    Jpeg,
    Svg,
}

impl LogoKind {
    pub fn mime(self) -> &'static str {
        match self {
            LogoKind::Png => "image/png",
            LogoKind::Jpeg => "image/jpeg",
            LogoKind::Svg => "image/svg+xml",
        }
    }

    /// The type a stored MIME type names.
    pub fn from_mime(mime: &str) -> Option<Self> {
        [LogoKind::Png, LogoKind::Jpeg, LogoKind::Svg]
            .into_iter()
            .find(|k| k.mime() == mime)
    }
}

/// A logo safe to serve: its bytes, type, and an ETag over the bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Logo {
    pub bytes: Vec<u8>,
    pub kind: LogoKind,
    pub etag: String,
}

pub const WRONG_TYPE: &str = "A logo must be a PNG, JPEG or SVG image.";

impl Logo {
    /// Judges `upload` by its content and makes it safe, or says why it cannot be.
    pub fn parse(upload: &[u8]) -> Result<Self, String> {
        if upload.is_empty() {
            return Err("Choose an image file to upload.".into());
        }
        if upload.len() > MAX_BYTES {
            return Err(too_large());
        }
        let (kind, bytes) = match sniff(upload) {
            Some(LogoKind::Png) => (LogoKind::Png, reencode(upload, ImageFormat::Png)?),
            Some(LogoKind::Jpeg) => (LogoKind::Jpeg, reencode(upload, ImageFormat::Jpeg)?),
            Some(LogoKind::Svg) => (LogoKind::Svg, sanitize_svg(upload)?),
            None => return Err(WRONG_TYPE.into()),
        };
        // Only a rebuilt SVG can still be too large (raster ones are scaled to fit).
        if bytes.len() > MAX_BYTES {
            return Err(format!(
                "This SVG is larger than {} KiB once made safe: simplify it.",
                MAX_BYTES / 1024
            ));
        }
        let etag = hex::encode(&Sha256::digest(&bytes)[..ETAG_BYTES]);
        Ok(Logo { bytes, kind, etag })
    }
}

/// How much of the content's SHA-256 a logo's ETag (and URL) keeps: 96 bits, not
/// to be guessed without the image.
const ETAG_BYTES: usize = 12;

/// Whether `s` has the shape of a logo's ETag (lower-case hex of [`ETAG_BYTES`]):
/// anything else names no logo, without asking the database.
pub fn is_etag(s: &str) -> bool {
    s.len() == ETAG_BYTES * 2 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// "A logo has at most 256 KiB."
pub fn too_large() -> String {
    format!("A logo has at most {} KiB.", MAX_BYTES / 1024)
}

/// The type the first bytes say: PNG's and JPEG's signatures, or XML text whose
/// first element is `svg`.
fn sniff(bytes: &[u8]) -> Option<LogoKind> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Some(LogoKind::Png);
    }
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Some(LogoKind::Jpeg);
    }
    let text = std::str::from_utf8(bytes).ok()?;
    let mut reader = Reader::from_str(text.trim_start_matches('\u{FEFF}'));
    loop {
        match reader.read_event().ok()? {
            Event::Decl(_) | Event::Comment(_) | Event::DocType(_) | Event::PI(_) => {}
            Event::Text(t) if t.iter().all(u8::is_ascii_whitespace) => {}
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == b"svg" => {
                return Some(LogoKind::Svg)
            }
            _ => return None,
        }
    }
}

/// Decodes a raster image — refused only for what the upload is (its pixels beyond
/// [`MAX_SIDE`], damage), never for what encoding it again gives — and encodes it
/// again in its format, 8 bits a channel, compressed, scaled down to
/// [`STORED_SIDE`] and further until it fits [`MAX_BYTES`].
fn reencode(bytes: &[u8], format: ImageFormat) -> Result<Vec<u8>, String> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODED);
    reader.limits(limits);
    let image = reader.decode().map_err(|e| match e {
        ImageError::Limits(l) if matches!(l.kind(), LimitErrorKind::DimensionError) => {
            format!("A logo has at most {MAX_SIDE} × {MAX_SIDE} pixels.")
        }
        ImageError::Limits(_) => {
            "The image cannot be read: it takes too much memory to decode.".to_string()
        }
        _ => "The image cannot be read: the file is damaged or not a PNG or JPEG.".to_string(),
    })?;
    let mut side = STORED_SIDE;
    loop {
        let scaled = if image.width() > side || image.height() > side {
            image.thumbnail(side, side)
        } else {
            image.clone()
        };
        let out = encode(&scaled, format)?;
        if out.len() <= MAX_BYTES || side <= SMALLEST_SIDE {
            return Ok(out);
        }
        side = side.min(scaled.width().max(scaled.height())) / 2;
        side = side.max(SMALLEST_SIDE);
    }
}

/// The image in `format`, 8 bits a channel: a PNG compressed as well as it goes,
/// grey and alpha kept; a JPEG (no alpha) at [`JPEG_QUALITY`].
fn encode(image: &DynamicImage, format: ImageFormat) -> Result<Vec<u8>, String> {
    let color = image.color();
    let mut out = Vec::new();
    let written = match format {
        ImageFormat::Jpeg => {
            let image = if color.has_color() {
                DynamicImage::ImageRgb8(image.to_rgb8())
            } else {
                DynamicImage::ImageLuma8(image.to_luma8())
            };
            image.write_with_encoder(JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY))
        }
        _ => {
            let image = match (color.has_color(), color.has_alpha()) {
                (false, false) => DynamicImage::ImageLuma8(image.to_luma8()),
                (false, true) => DynamicImage::ImageLumaA8(image.to_luma_alpha8()),
                (true, false) => DynamicImage::ImageRgb8(image.to_rgb8()),
                (true, true) => DynamicImage::ImageRgba8(image.to_rgba8()),
            };
            image.write_with_encoder(PngEncoder::new_with_quality(
                &mut out,
                CompressionType::Best,
                FilterType::Adaptive,
            ))
        }
    };
    written.map_err(|_| "The image cannot be encoded again.".to_string())?;
    Ok(out)
}

/// Elements kept in a logo (local names; SVG's namespace only). Any other element
/// is left out with everything inside it, but those that could run script, load
/// another document or embed HTML refuse the whole file ([`REFUSED_ELEMENTS`]).
const ELEMENTS: &[&str] = &[
    "svg",
    "g",
    "defs",
    "title",
    "desc",
    "symbol",
    "use",
    "path",
    "rect",
    "circle",
    "ellipse",
    "line",
    "polyline",
    "polygon",
    "text",
    "tspan",
    "linearGradient",
    "radialGradient",
    "stop",
    "clipPath",
    "mask",
    "pattern",
    "style",
];

/// Elements that refuse the logo: script, HTML inside SVG, other documents,
/// animation (which can rewrite attributes to `javascript:` links). `<style>` is
/// kept only if its text is plain CSS ([`check_style`]).
const REFUSED_ELEMENTS: &[&str] = &[
    "script",
    "foreignObject",
    "iframe",
    "embed",
    "object",
    "image",
    "feImage",
    "a",
    "animate",
    "animateMotion",
    "animateTransform",
    "set",
    "handler",
    "listener",
];

/// Attributes kept (others are left out); their values are checked by [`check_value`].
const ATTRIBUTES: &[&str] = &[
    "xmlns",
    "xmlns:xlink",
    "version",
    "id",
    "class",
    "viewBox",
    "preserveAspectRatio",
    "width",
    "height",
    "x",
    "y",
    "x1",
    "y1",
    "x2",
    "y2",
    "cx",
    "cy",
    "r",
    "rx",
    "ry",
    "fx",
    "fy",
    "fr",
    "d",
    "points",
    "transform",
    "fill",
    "fill-opacity",
    "fill-rule",
    "stroke",
    "stroke-width",
    "stroke-linecap",
    "stroke-linejoin",
    "stroke-miterlimit",
    "stroke-dasharray",
    "stroke-dashoffset",
    "stroke-opacity",
    "opacity",
    "clip-path",
    "clip-rule",
    "mask",
    "offset",
    "stop-color",
    "stop-opacity",
    "gradientUnits",
    "gradientTransform",
    "spreadMethod",
    "patternUnits",
    "patternContentUnits",
    "patternTransform",
    "clipPathUnits",
    "maskUnits",
    "maskContentUnits",
    "font-family",
    "font-size",
    "font-weight",
    "font-style",
    "text-anchor",
    "dominant-baseline",
    "letter-spacing",
    "dx",
    "dy",
    "visibility",
    "display",
    "style",
    "href",
    "xlink:href",
    "vector-effect",
    "color",
];

fn refused(what: &str) -> String {
    format!("The SVG cannot be used as a logo: {what}.")
}

/// Rebuilds an SVG from what [`ELEMENTS`] and [`ATTRIBUTES`] allow; refuses
/// scripts, event handlers, references outside the file, HTML inside it, entities,
/// DOCTYPEs with an internal subset (where entities are declared) and style sheets
/// that are more than plain CSS. A DOCTYPE without one (as Illustrator writes) is
/// left out.
fn sanitize_svg(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| refused("it is not UTF-8 text"))?;
    let mut reader = Reader::from_str(text.trim_start_matches('\u{FEFF}'));
    let unreadable = |_| refused("it is not well-formed XML");
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    // Open elements: whether each is kept; `skipping` counts levels inside a dropped one.
    let mut open: Vec<String> = Vec::new();
    let mut skipping = 0usize;
    let mut seen_root = false;
    // The text of a kept `<style>` element being read.
    let mut style: Option<String> = None;
    loop {
        let event = reader.read_event().map_err(unreadable)?;
        match event {
            Event::Eof => break,
            Event::DocType(d) => {
                if d.contains(&b'[') {
                    return Err(refused(
                        "its DOCTYPE declares entities or other definitions \
                         (an internal subset in [ ]), which are not allowed",
                    ));
                }
            }
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) => {}
            // Inside a kept `<style>`: its text only, checked and written at its end.
            Event::Start(_) | Event::Empty(_) if style.is_some() => {
                return Err(refused("its <style> element contains elements"))
            }
            Event::End(_) if style.is_some() => {
                let css = style.take().unwrap_or_default();
                check_style(&css)?;
                out.push_str("<style>");
                escape_into(&css, &mut out);
                out.push_str("</style>");
            }
            Event::Text(t) if style.is_some() => {
                let t = t.decode().map_err(|_| refused("it is not UTF-8 text"))?;
                style.get_or_insert_default().push_str(&t);
            }
            Event::CData(t) if style.is_some() => {
                let t = t.decode().map_err(|_| refused("it is not UTF-8 text"))?;
                style.get_or_insert_default().push_str(&t);
            }
            Event::GeneralRef(r) if style.is_some() => {
                let c = resolve_ref(&r)?;
                style.get_or_insert_default().push(c);
            }
            // Inside a left-out element: still checked, nothing written.
            Event::Start(e) if skipping > 0 => {
                check_element(&e)?;
                skipping += 1;
            }
            Event::Empty(e) if skipping > 0 => check_element(&e)?,
            Event::End(_) if skipping > 0 => skipping -= 1,
            Event::Start(e) => {
                let name = element(&e, seen_root)?;
                seen_root = true;
                match name {
                    // Its text is collected above; attributes (`type`, `media`) are left out.
                    Some(name) if name == "style" => style = Some(String::new()),
                    Some(name) => {
                        if open.len() >= MAX_DEPTH {
                            return Err(refused("its elements nest too deep"));
                        }
                        out.push('<');
                        out.push_str(&name);
                        attributes(&e, &mut out)?;
                        out.push('>');
                        open.push(name);
                    }
                    None => skipping = 1,
                }
            }
            Event::Empty(e) => {
                let name = element(&e, seen_root)?;
                seen_root = true;
                if let Some(name) = name.filter(|n| n != "style") {
                    out.push('<');
                    out.push_str(&name);
                    attributes(&e, &mut out)?;
                    out.push_str("/>");
                }
            }
            Event::End(_) => {
                let name = open
                    .pop()
                    .ok_or_else(|| refused("it is not well-formed XML"))?;
                out.push_str("</");
                out.push_str(&name);
                out.push('>');
            }
            Event::Text(t) => {
                let t = t.decode().map_err(|_| refused("it is not UTF-8 text"))?;
                if open.is_empty() && !t.trim().is_empty() {
                    return Err(refused("it has text outside its svg element"));
                }
                if !open.is_empty() && skipping == 0 {
                    check_text(&t)?;
                    escape_into(&t, &mut out);
                }
            }
            Event::CData(t) => {
                if !open.is_empty() && skipping == 0 {
                    let t = t.decode().map_err(|_| refused("it is not UTF-8 text"))?;
                    check_text(&t)?;
                    escape_into(&t, &mut out);
                }
            }
            Event::GeneralRef(r) => {
                let c = resolve_ref(&r)?;
                check_text(c.encode_utf8(&mut [0; 4]))?;
                if !open.is_empty() && skipping == 0 {
                    escape_into(c.encode_utf8(&mut [0; 4]), &mut out);
                }
            }
        }
    }
    if !seen_root || !open.is_empty() {
        return Err(refused("it is not well-formed XML"));
    }
    Ok(out.into_bytes())
}

/// The character of a character reference or one of XML's five predefined
/// entities; any other entity refuses the file.
fn resolve_ref(r: &BytesRef<'_>) -> Result<char, String> {
    let c = if r.is_char_ref() {
        r.resolve_char_ref().ok().flatten()
    } else {
        let name: &[u8] = r;
        match name {
            b"lt" => Some('<'),
            b"gt" => Some('>'),
            b"amp" => Some('&'),
            b"quot" => Some('"'),
            b"apos" => Some('\''),
            _ => None,
        }
    };
    c.ok_or_else(|| refused("it uses an entity"))
}

/// Parts of a style sheet that refuse it (compared without case, spaces and CSS
/// comments): anything that loads from elsewhere or runs script, any at-rule
/// (`@import`, `@font-face`, `@namespace`…), and what could end the element or
/// hide a name (`<`, `&`, backslash escapes).
const REFUSED_IN_STYLE: &[&str] = &[
    "url(",
    "@",
    "\\",
    "expression",
    "image-set",
    "image(",
    "src(",
    "<",
    "&",
    "javascript:",
];

/// A `<style>` element's text (after XML unescaping) is kept only if it is plain
/// CSS: rules with declarations, nothing of [`REFUSED_IN_STYLE`].
fn check_style(css: &str) -> Result<(), String> {
    let mut compact = String::with_capacity(css.len());
    let mut rest = css;
    // Comments are taken out first, so `url/**/(` or `java/**/script:` are seen.
    while let Some(at) = rest.find("/*") {
        compact.push_str(&rest[..at]);
        rest = match rest[at + 2..].find("*/") {
            Some(end) => &rest[at + 2 + end + 2..],
            None => "",
        };
    }
    compact.push_str(rest);
    let compact: String = compact
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .flat_map(char::to_lowercase)
        .collect();
    match REFUSED_IN_STYLE.iter().find(|bad| compact.contains(**bad)) {
        Some(bad) => Err(refused(&format!(
            "its <style> element is more than plain CSS (it has \"{}\")",
            bad.trim_end_matches('(')
        ))),
        None => Ok(()),
    }
}

/// The element's local name if it is kept, `None` if it is left out; an error for
/// one that refuses the file, and for a first element that is not `svg`.
fn element(e: &BytesStart<'_>, seen_root: bool) -> Result<Option<String>, String> {
    check_element(e)?;
    let local = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
    if !seen_root && local != "svg" {
        return Err(refused("its first element is not svg"));
    }
    if !seen_root && !in_svg_namespace(e)? {
        // A prefixed root (`<s:svg xmlns:s=…>`) may declare it, but not as a page
        // embeds it: say which.
        let why = if e.name().as_ref() != e.local_name().as_ref() {
            format!(
                "its svg element has a prefix: use <svg xmlns=\"{SVG_NAMESPACE}\"> \
                 (the default namespace, no prefix), as browsers expect"
            )
        } else {
            format!(
                "its svg element does not declare the SVG namespace \
                 (xmlns=\"{SVG_NAMESPACE}\"), so browsers would not draw it"
            )
        };
        return Err(refused(&why));
    }
    if seen_root && local == "svg" && e.name().as_ref() != b"svg" {
        return Ok(None);
    }
    // Prefixed elements belong to other namespaces (editors' metadata): left out.
    if e.name().as_ref() != e.local_name().as_ref() {
        return Ok(None);
    }
    // So does an unprefixed one that declares another default namespace
    // (`<g xmlns="http://www.w3.org/1999/xhtml">`): a browser would not take it, or
    // what is inside it, for SVG. Every kept element is in SVG's namespace, so one
    // declaring none inherits it.
    if seen_root && declared_namespace(e)?.is_some_and(|ns| ns != SVG_NAMESPACE) {
        return Ok(None);
    }
    Ok(ELEMENTS.contains(&local.as_str()).then_some(local))
}

/// The namespace an SVG's elements must be in for a browser to draw them.
const SVG_NAMESPACE: &str = "http://www.w3.org/2000/svg";

/// Whether the root element is `<svg xmlns="http://www.w3.org/2000/svg">`: unprefixed
/// (prefixed elements are left out) in SVG's namespace.
fn in_svg_namespace(e: &BytesStart<'_>) -> Result<bool, String> {
    if e.name().as_ref() != b"svg" {
        return Ok(false);
    }
    Ok(declared_namespace(e)?.is_some_and(|ns| ns.trim() == SVG_NAMESPACE))
}

/// The default namespace an element declares (its `xmlns` attribute), exactly as a
/// browser compares it.
fn declared_namespace(e: &BytesStart<'_>) -> Result<Option<String>, String> {
    for attr in e.attributes() {
        let attr = attr.map_err(|_| refused("it is not well-formed XML"))?;
        if attr.key.as_ref() == b"xmlns" {
            let value = attr
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(|_| refused("it uses an entity"))?;
            return Ok(Some(value.into_owned()));
        }
    }
    Ok(None)
}

/// Refuses the elements of [`REFUSED_ELEMENTS`], whatever their prefix, and checks
/// the attributes of every element (kept or not): a handler anywhere refuses.
fn check_element(e: &BytesStart<'_>) -> Result<(), String> {
    let local = e.local_name();
    let local = String::from_utf8_lossy(local.as_ref());
    if let Some(bad) = REFUSED_ELEMENTS
        .iter()
        .find(|r| r.eq_ignore_ascii_case(&local))
    {
        let article = if bad.starts_with(['a', 'e', 'i', 'o', 'u']) {
            "an"
        } else {
            "a"
        };
        return Err(refused(&format!("it contains {article} <{bad}> element")));
    }
    for attr in e.attributes() {
        let attr = attr.map_err(|_| refused("it is not well-formed XML"))?;
        let name = String::from_utf8_lossy(attr.key.as_ref()).into_owned();
        let value = attr
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|_| refused("it uses an entity"))?;
        check_attribute(&name, &value)?;
    }
    Ok(())
}

/// Refuses event handlers, links that leave the file, `url()` to elsewhere, and
/// `javascript:` anywhere.
fn check_attribute(name: &str, value: &str) -> Result<(), String> {
    let local = name.rsplit(':').next().unwrap_or(name);
    if local.len() > 2 && local[..2].eq_ignore_ascii_case("on") {
        return Err(refused(&format!("it has an event handler ({name})")));
    }
    if local.eq_ignore_ascii_case("href") && !value.trim_start().starts_with('#') {
        return Err(refused(&format!(
            "it refers to something outside the file ({name})"
        )));
    }
    check_value(name, value)
}

/// CSS functions that load an image or a font from elsewhere; `url(` is allowed
/// only towards a part of the same file (`url(#id)`).
const LOADING_FUNCTIONS: &[&str] = &["image-set(", "image(", "src("];

/// A value may refer only to parts of the same file (`url(#id)`). `value` is the
/// attribute after XML unescaping. A backslash is refused outright: CSS escapes
/// (`\75rl(`, `u\72l(`) would otherwise spell a function no check sees.
fn check_value(name: &str, value: &str) -> Result<(), String> {
    let name = if name == "text" {
        "text".to_string()
    } else {
        format!("{name} attribute")
    };
    if value.contains('\\') {
        return Err(refused(&format!(
            "its {name} has a backslash (CSS escapes are not allowed)"
        )));
    }
    let compact: String = value
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .flat_map(char::to_lowercase)
        .collect();
    if compact.contains("javascript:")
        || compact.contains("expression(")
        || compact.contains("@import")
    {
        return Err(refused(&format!(
            "its {name} runs script or loads a style sheet"
        )));
    }
    let outside = || refused(&format!("its {name} refers to something outside the file"));
    if LOADING_FUNCTIONS.iter().any(|f| compact.contains(f)) {
        return Err(outside());
    }
    let mut rest = compact.as_str();
    while let Some(at) = rest.find("url(") {
        rest = &rest[at + 4..];
        let target = rest.trim_start_matches(['"', '\'']);
        if !target.starts_with('#') {
            return Err(outside());
        }
    }
    Ok(())
}

/// Text of a kept element, checked as an attribute value is: it is no style sheet
/// (`<style>` is refused), but nothing in it should load from elsewhere either.
fn check_text(text: &str) -> Result<(), String> {
    check_value("text", text)
}

/// Writes the kept attributes of `e`, escaped.
fn attributes(e: &BytesStart<'_>, out: &mut String) -> Result<(), String> {
    for attr in e.attributes() {
        let attr = attr.map_err(|_| refused("it is not well-formed XML"))?;
        let name = String::from_utf8_lossy(attr.key.as_ref()).into_owned();
        if !ATTRIBUTES.contains(&name.as_str()) {
            continue;
        }
        let value = attr
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|_| refused("it uses an entity"))?;
        out.push(' ');
        out.push_str(&name);
        out.push_str("=\"");
        escape_into(&value, out);
        out.push('"');
    }
    Ok(())
}

fn escape_into(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svg(body: &str) -> Vec<u8> {
        format!(r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10">{body}</svg>"#)
            .into_bytes()
    }

    fn png() -> Vec<u8> {
        let image = image::RgbaImage::from_pixel(4, 3, image::Rgba([10, 20, 30, 255]));
        let mut out = Cursor::new(Vec::new());
        image.write_to(&mut out, ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn the_type_is_judged_by_content() {
        let logo = Logo::parse(&png()).unwrap();
        assert_eq!(logo.kind, LogoKind::Png);
        assert!(logo.bytes.starts_with(b"\x89PNG"));
        assert_eq!(Logo::parse(b"GIF89a......").unwrap_err(), WRONG_TYPE);
        assert_eq!(
            Logo::parse(b"<html><body>hi</body></html>").unwrap_err(),
            WRONG_TYPE
        );
        assert_eq!(Logo::parse(b"just text").unwrap_err(), WRONG_TYPE);
        // A PNG signature on something else is not a PNG.
        assert!(Logo::parse(b"\x89PNG\r\n\x1a\nnot really").is_err());
    }

    #[test]
    fn raster_logos_are_encoded_again_without_trailing_bytes() {
        let mut polyglot = png();
        polyglot.extend_from_slice(b"<script>alert(1)</script>");
        let logo = Logo::parse(&polyglot).unwrap();
        assert!(!logo.bytes.windows(7).any(|w| w == b"<script"));
        let image = image::RgbImage::from_pixel(2, 2, image::Rgb([200, 0, 0]));
        let mut jpeg = Cursor::new(Vec::new());
        image.write_to(&mut jpeg, ImageFormat::Jpeg).unwrap();
        let logo = Logo::parse(&jpeg.into_inner()).unwrap();
        assert_eq!(logo.kind, LogoKind::Jpeg);
        assert_eq!(logo.kind.mime(), "image/jpeg");
    }

    /// `image` encoded as a PNG the best the encoder can (as an optimiser would).
    fn tight_png(image: &DynamicImage) -> Vec<u8> {
        let mut out = Vec::new();
        image
            .write_with_encoder(PngEncoder::new_with_quality(
                &mut out,
                CompressionType::Best,
                FilterType::Adaptive,
            ))
            .unwrap();
        out
    }

    fn dims(logo: &Logo) -> (u32, u32) {
        let image = image::load_from_memory(&logo.bytes).unwrap();
        (image.width(), image.height())
    }

    /// Review M2: valid logos within the limits were refused because the encoding
    /// again came out larger; now limits are on the upload, the stored image is
    /// scaled to `STORED_SIDE` and compressed to fit.
    #[test]
    fn logos_within_the_limits_are_accepted_and_scaled_to_fit() {
        // A 1500 × 1500 grey gradient under 256 KiB.
        let grey = DynamicImage::ImageLuma8(image::GrayImage::from_fn(1500, 1500, |x, y| {
            image::Luma([((x + y) % 256) as u8])
        }));
        let file = tight_png(&grey);
        assert!(file.len() < MAX_BYTES, "{}", file.len());
        let logo = Logo::parse(&file).unwrap();
        assert!(logo.bytes.len() <= MAX_BYTES);
        assert_eq!(dims(&logo), (STORED_SIDE, STORED_SIDE));
        // 16-bit RGBA, 3000 × 2000: within the pixel limit, so accepted.
        let deep = DynamicImage::ImageRgba16(image::ImageBuffer::from_fn(3000, 2000, |x, y| {
            image::Rgba([(x * 20) as u16, (y * 30) as u16, 4000, 65535])
        }));
        let file = tight_png(&deep);
        assert!(file.len() < MAX_BYTES, "{}", file.len());
        let logo = Logo::parse(&file).unwrap();
        assert_eq!(dims(&logo), (STORED_SIDE, 683));
        // A 4096 × 4096 flat RGBA: the largest accepted.
        let flat = DynamicImage::ImageRgba8(image::RgbaImage::from_pixel(
            4096,
            4096,
            image::Rgba([10, 20, 30, 255]),
        ));
        assert!(Logo::parse(&tight_png(&flat)).is_ok());
        // Noise at 512 × 400 (under 256 KiB as uploaded, larger than that as RGBA
        // encoded again): scaled further down rather than refused.
        let mut seed = 7u32;
        let noise = DynamicImage::ImageLuma8(image::GrayImage::from_fn(512, 400, |_, _| {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            image::Luma([(seed >> 24) as u8])
        }));
        let file = tight_png(&noise);
        assert!(file.len() < MAX_BYTES, "{}", file.len());
        let logo = Logo::parse(&file).unwrap();
        assert!(logo.bytes.len() <= MAX_BYTES);
        // One pixel more than the limit: the pixel message, not a size one.
        let wide = DynamicImage::ImageLuma8(image::GrayImage::new(MAX_SIDE + 1, 1));
        assert_eq!(
            Logo::parse(&tight_png(&wide)).unwrap_err(),
            "A logo has at most 4096 × 4096 pixels."
        );
        // A small logo keeps its size.
        assert_eq!(dims(&Logo::parse(&png()).unwrap()), {
            let i = image::load_from_memory(&png()).unwrap();
            (i.width(), i.height())
        });
    }

    /// Review LOW: "an <a> element", "an <image> element".
    #[test]
    fn refusals_name_elements_with_their_article() {
        let err = Logo::parse(&svg(r#"<a href="x"/>"#)).unwrap_err();
        assert!(err.contains("an <a> element"), "{err}");
        let err = Logo::parse(&svg(r#"<image/>"#)).unwrap_err();
        assert!(err.contains("an <image> element"), "{err}");
        let err = Logo::parse(&svg(r#"<script/>"#)).unwrap_err();
        assert!(err.contains("a <script> element"), "{err}");
    }

    #[test]
    fn too_large_is_refused() {
        let mut big = png();
        big.resize(MAX_BYTES + 1, 0);
        assert_eq!(
            Logo::parse(&big).unwrap_err(),
            "A logo has at most 256 KiB."
        );
        assert!(Logo::parse(b"").is_err());
    }

    #[test]
    fn elements_of_another_namespace_are_left_out_with_what_is_inside() {
        let logo = Logo::parse(&svg(
            r#"<g xmlns="http://www.w3.org/1999/xhtml"><rect width="5" height="5"/><p>hi</p></g><g xmlns="http://www.w3.org/2000/svg "><circle r="1"/></g><g xmlns="http://www.w3.org/2000/svg"><rect width="1" height="1"/></g>"#,
        ))
        .unwrap();
        let text = String::from_utf8(logo.bytes).unwrap();
        assert!(!text.contains("xhtml") && !text.contains("hi"), "{text}");
        assert!(
            !text.contains("circle") && !text.contains("svg \""),
            "{text}"
        );
        assert_eq!(text.matches("<rect").count(), 1, "{text}");
        assert!(text.contains(r#"<rect width="1" height="1"/>"#), "{text}");
        // Script in one is still refused, whatever its namespace.
        assert!(Logo::parse(&svg(
            r#"<g xmlns="http://www.w3.org/1999/xhtml"><script>1</script></g>"#
        ))
        .is_err());
    }

    #[test]
    fn a_plain_svg_is_kept() {
        let logo = Logo::parse(&svg(
            r##"<defs><linearGradient id="g"><stop offset="0" stop-color="#fff"/></linearGradient></defs><rect width="10" height="10" fill="url(#g)"/><text x="1" y="5">A &amp; B</text>"##,
        ))
        .unwrap();
        let text = String::from_utf8(logo.bytes).unwrap();
        assert_eq!(logo.kind, LogoKind::Svg);
        assert!(text.contains(r##"fill="url(#g)""##), "{text}");
        assert!(text.contains("A &amp; B"), "{text}");
        assert!(
            text.contains("<stop offset=\"0\" stop-color=\"#fff\"/>"),
            "{text}"
        );
    }

    #[test]
    fn dangerous_svgs_are_refused() {
        for (body, why) in [
            ("<script>alert(1)</script>", "<script>"),
            ("<SCRIPT>alert(1)</SCRIPT>", "<script>"),
            (r#"<rect onload="alert(1)"/>"#, "event handler"),
            (r#"<g><rect OnClick="alert(1)"/></g>"#, "event handler"),
            (
                r#"<use xlink:href="https://evil.example/x.svg#a"/>"#,
                "outside the file",
            ),
            (r#"<use href="data:image/svg+xml,xx"/>"#, "outside the file"),
            (
                "<foreignObject><div>hi</div></foreignObject>",
                "<foreignObject>",
            ),
            (
                r#"<rect fill="url(https://evil.example/a)"/>"#,
                "outside the file",
            ),
            (
                r#"<rect style="fill: URL( 'http://evil.example/a')"/>"#,
                "outside the file",
            ),
            (
                r#"<rect style="background: url(javascript:alert(1))"/>"#,
                "runs script",
            ),
            (
                "<style>@import url(https://evil.example/a.css);</style>",
                "<style>",
            ),
            (r#"<a href="javascript:alert(1)"><rect/></a>"#, "<a>"),
            (r#"<image href="https://evil.example/a.png"/>"#, "<image>"),
            (
                r#"<set attributeName="href" to="javascript:alert(1)"/>"#,
                "<set>",
            ),
            (
                r#"<x:script xmlns:x="http://www.w3.org/2000/svg">1</x:script>"#,
                "<script>",
            ),
        ] {
            let err = Logo::parse(&svg(body)).unwrap_err();
            assert!(err.contains(why), "{body}: {err}");
        }
        let err = Logo::parse(doctype_free_escapes()).unwrap_err();
        assert!(err.contains("backslash"), "{err}");
        let doctype = br#"<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x "y">]><svg xmlns="http://www.w3.org/2000/svg">&x;</svg>"#;
        assert!(Logo::parse(doctype).unwrap_err().contains("DOCTYPE"));
        let html = br#"<svg xmlns="http://www.w3.org/2000/svg"><rect/>"#;
        assert!(Logo::parse(html).is_err());
    }

    fn doctype_free_escapes() -> &'static [u8] {
        br#"<svg xmlns="http://www.w3.org/2000/svg"><text>a\62 c</text></svg>"#
    }

    #[test]
    fn css_escapes_and_loading_functions_are_refused() {
        for (body, why) in [
            (
                r#"<rect fill="\75rl(https://evil.example/a)"/>"#,
                "backslash",
            ),
            (
                r#"<rect style="fill:u\72l(https://evil.example/a)"/>"#,
                "backslash",
            ),
            (
                r#"<rect style="background-image:image-set(&quot;https://evil.example/a&quot; 1x)"/>"#,
                "outside the file",
            ),
            (
                r#"<rect style="background-image:IMAGE-SET('https://evil.example/a' 1x)"/>"#,
                "outside the file",
            ),
            (
                r#"<rect style="background-image:image('https://evil.example/a')"/>"#,
                "outside the file",
            ),
            (
                r#"<rect style="x:src('https://evil.example/a')"/>"#,
                "outside the file",
            ),
            (
                r#"<rect style="@IMPORT 'https://evil.example/a'"/>"#,
                "style sheet",
            ),
            // After XML unescaping: &#92; is a backslash, &#40; a parenthesis.
            (
                r#"<rect fill="&#92;75rl(https://evil.example/a)"/>"#,
                "backslash",
            ),
            (
                r#"<rect fill="url&#40;https://evil.example/a)"/>"#,
                "outside the file",
            ),
            (r#"<rect data-x="\75rl(x)"/>"#, "backslash"),
            (r#"<text>u\72l(https://evil.example/a)</text>"#, "backslash"),
            (r#"<text>a&#92;b</text>"#, "backslash"),
            ("<text><![CDATA[a\\b]]></text>", "backslash"),
        ] {
            let err = Logo::parse(&svg(body)).unwrap_err();
            assert!(err.contains(why), "{body}: {err}");
        }
        // url(#id) within the file stays allowed.
        assert!(Logo::parse(&svg(r##"<rect style="fill:url(#g)"/>"##)).is_ok());
    }

    /// What Illustrator writes: an XML declaration, a DOCTYPE naming SVG 1.1's DTD,
    /// and a style sheet of classes.
    const ILLUSTRATOR: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<!-- Generator: Adobe Illustrator 27.0.0, SVG Export Plug-In . SVG Version: 6.00 Build 0)  -->
<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">
<svg version="1.1" id="Layer_1" xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" x="0px" y="0px"
	 viewBox="0 0 100 40" style="enable-background:new 0 0 100 40;" xml:space="preserve">
<style type="text/css">
	.st0{fill:#1F6FEB;}
	.st1{fill:none;stroke:#0D1117;stroke-width:2;}
</style>
<rect class="st0" width="40" height="40"/>
<circle class="st1" cx="70" cy="20" r="15"/>
</svg>
"#;

    /// Review 16 M3: Illustrator's logos were refused for their DOCTYPE and their
    /// `<style>`; the DOCTYPE is left out, the style sheet kept.
    #[test]
    fn illustrator_svgs_are_kept_without_their_doctype() {
        let logo = Logo::parse(ILLUSTRATOR.as_bytes()).unwrap();
        assert_eq!(logo.kind, LogoKind::Svg);
        let text = String::from_utf8(logo.bytes).unwrap();
        assert!(
            !text.contains("DOCTYPE") && !text.contains("svg11.dtd"),
            "{text}"
        );
        assert!(text.contains(".st0{fill:#1F6FEB;}"), "{text}");
        assert!(text.contains("stroke-width:2;}"), "{text}");
        assert!(
            text.contains("<style>") && text.contains("</style>"),
            "{text}"
        );
        assert!(!text.contains("text/css"), "{text}");
        assert!(
            text.contains(r#"<rect class="st0" width="40" height="40"/>"#),
            "{text}"
        );
        // Each alone, and a style sheet with a child combinator written `&gt;`, a
        // comment and an attribute selector in quotes.
        let doctype = r#"<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd"><svg xmlns="http://www.w3.org/2000/svg"><rect/></svg>"#;
        let text = String::from_utf8(Logo::parse(doctype.as_bytes()).unwrap().bytes).unwrap();
        assert!(
            !text.contains("DOCTYPE") && text.contains("<rect/>"),
            "{text}"
        );
        let logo = Logo::parse(&svg(
            r#"<style>/* logo */ g &gt; .a[id="x"]{fill:red}</style><g><rect class="a" id="x"/></g>"#,
        ))
        .unwrap();
        let text = String::from_utf8(logo.bytes).unwrap();
        assert!(
            text.contains("<style>/* logo */ g &gt; .a[id=&quot;x&quot;]{fill:red}</style>"),
            "{text}"
        );
        let logo = Logo::parse(&svg("<style><![CDATA[.b{fill:blue}]]></style><style/>")).unwrap();
        let text = String::from_utf8(logo.bytes).unwrap();
        assert!(text.contains("<style>.b{fill:blue}</style>"), "{text}");
        // A style sheet inside a left-out part goes with it.
        let logo = Logo::parse(&svg("<metadata><style>.c{}</style></metadata>")).unwrap();
        assert!(!String::from_utf8(logo.bytes).unwrap().contains("style"));
    }

    #[test]
    fn style_sheets_beyond_plain_css_and_doctypes_with_a_subset_are_refused() {
        for (body, why) in [
            ("<style>.a{fill:url(#g)}</style>", "\"url\""),
            (
                "<style>.a{fill:URL( https://evil.example/a)}</style>",
                "\"url\"",
            ),
            (
                "<style>.a{fill:u/**/rl(https://evil.example/a)}</style>",
                "\"url\"",
            ),
            (
                "<style>@import 'https://evil.example/a.css';</style>",
                "\"@\"",
            ),
            (
                "<style>@IMPORT url(https://evil.example/a.css);</style>",
                "plain CSS",
            ),
            (
                "<style>@font-face{font-family:x;src:local(x)}</style>",
                "\"@\"",
            ),
            ("<style>@media print{.a{fill:red}}</style>", "\"@\""),
            (
                r"<style>.a{fill:u\72l(https://evil.example/a)}</style>",
                r#""\""#,
            ),
            (r"<style>.a{fill:red}\@import x;</style>", "plain CSS"),
            ("<style>.a{fill:&#92;75rl(x)}</style>", r#""\""#),
            (
                "<style>.a{width:Expression(alert(1))}</style>",
                "\"expression\"",
            ),
            (
                "<style>.a{background:image-set('https://evil.example/a' 1x)}</style>",
                "\"image-set\"",
            ),
            (
                "<style>.a{background:image('https://evil.example/a')}</style>",
                "\"image\"",
            ),
            (
                "<style>.a{fill:JavaScript:alert(1)}</style>",
                "\"javascript:\"",
            ),
            ("<style>.a{fill:red}&lt;/style&gt;</style>", "\"<\""),
            (
                "<style><![CDATA[</style><script>alert(1)</script>]]></style>",
                "\"<\"",
            ),
            ("<style>.a{content:'&amp;'}</style>", "\"&\""),
            ("<style><rect/></style>", "contains elements"),
            (
                r#"<style onload="alert(1)">.a{fill:red}</style>"#,
                "event handler",
            ),
        ] {
            let err = Logo::parse(&svg(body)).unwrap_err();
            assert!(err.contains(why), "{body}: {err}");
            assert!(
                err.contains("<style>") || why == "event handler",
                "{body}: {err}"
            );
        }
        for doc in [
            r#"<!DOCTYPE svg [<!ENTITY x "y">]><svg xmlns="http://www.w3.org/2000/svg"><text>&x;</text></svg>"#,
            r#"<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd" [<!ENTITY ns_svg "http://www.w3.org/2000/svg">]><svg xmlns="http://www.w3.org/2000/svg"><rect/></svg>"#,
            r#"<!DOCTYPE svg [ ]><svg xmlns="http://www.w3.org/2000/svg"><rect/></svg>"#,
        ] {
            let err = Logo::parse(doc.as_bytes()).unwrap_err();
            assert!(err.contains("internal subset"), "{doc}: {err}");
        }
        // Without a subset an entity the DTD might define is still refused.
        let doc = r#"<!DOCTYPE svg SYSTEM "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd"><svg xmlns="http://www.w3.org/2000/svg"><text>&nbsp;</text></svg>"#;
        assert!(Logo::parse(doc.as_bytes()).unwrap_err().contains("entity"));
    }

    #[test]
    fn an_svg_outside_the_svg_namespace_is_refused() {
        for doc in [
            r#"<svg viewBox="0 0 10 10"><rect/></svg>"#,
            r#"<svg xmlns="http://www.w3.org/1999/xhtml"><rect/></svg>"#,
        ] {
            let err = Logo::parse(doc.as_bytes()).unwrap_err();
            assert!(err.contains("SVG namespace"), "{doc}: {err}");
        }
    }

    #[test]
    fn unknown_parts_are_left_out() {
        let logo = Logo::parse(&svg(
            r#"<metadata><rdf:RDF xmlns:rdf="x"><rect/></rdf:RDF></metadata><sodipodi:namedview xmlns:sodipodi="y"/><rect data-x="1" width="2"/>"#,
        ))
        .unwrap();
        let text = String::from_utf8(logo.bytes).unwrap();
        assert!(
            !text.contains("metadata") && !text.contains("sodipodi") && !text.contains("data-x"),
            "{text}"
        );
        assert!(text.contains(r#"<rect width="2"/>"#), "{text}");
    }

    #[test]
    fn an_etag_is_the_hex_of_the_contents_hash_and_nothing_else_passes_for_one() {
        let logo = Logo::parse(&png()).unwrap();
        assert!(is_etag(&logo.etag), "{}", logo.etag);
        for bad in [
            "",
            "1",
            "../../etc",
            &logo.etag.to_uppercase(),
            &format!("{}0", logo.etag),
        ] {
            assert!(!is_etag(bad), "{bad}");
        }
    }

    #[test]
    fn a_prefixed_svg_root_is_told_to_use_the_default_namespace() {
        let file = br#"<s:svg xmlns:s="http://www.w3.org/2000/svg"><s:rect/></s:svg>"#;
        let e = Logo::parse(file).unwrap_err();
        assert!(e.contains("has a prefix"), "{e}");
        assert!(!e.contains("does not declare"), "{e}");
        let e = Logo::parse(br#"<svg><rect/></svg>"#).unwrap_err();
        assert!(e.contains("does not declare the SVG namespace"), "{e}");
    }
}
