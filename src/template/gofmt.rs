//! Go's `fmt`/`strconv` number and string formatting, as far as templates
//! need it: `%v` of a float64 (`0.035`, `1e+06`), `%.4g` (what every
//! `humanize*` function prints), `%f`/`%e` with width and flags, `%q`.
//!
//! Fixed-precision output is computed from the exact decimal expansion of the
//! float and rounded half-to-even, as Go's `strconv` does, so `%.0f` of 2.5 is
//! "2" and `%.4g` of 12345 is "1.234e+04" exactly as Prometheus prints them.

/// Decimal digits of a non-negative float: value = 0.d1d2d3... × 10^dp.
/// `digits` has no trailing zeros; it is empty for zero.
#[derive(Debug, Clone, PartialEq)]
struct Decimal {
    digits: Vec<u8>,
    dp: i32,
}

impl Decimal {
    /// The exact expansion of `|v|` (finite).
    fn exact(v: f64) -> Decimal {
        let bits = v.abs().to_bits();
        let exp_bits = ((bits >> 52) & 0x7ff) as i32;
        let frac = bits & ((1u64 << 52) - 1);
        let (mant, exp2) = if exp_bits == 0 {
            (frac, -1074)
        } else {
            (frac | (1u64 << 52), exp_bits - 1075)
        };
        if mant == 0 {
            return Decimal {
                digits: Vec::new(),
                dp: 0,
            };
        }
        // Base 1e9 little-endian limbs.
        let mut limbs: Vec<u64> = vec![mant % 1_000_000_000, mant / 1_000_000_000 % 1_000_000_000];
        limbs.push(mant / 1_000_000_000_000_000_000);
        let mul = |limbs: &mut Vec<u64>, m: u64| {
            let mut carry = 0u64;
            for l in limbs.iter_mut() {
                let x = *l * m + carry;
                *l = x % 1_000_000_000;
                carry = x / 1_000_000_000;
            }
            while carry > 0 {
                limbs.push(carry % 1_000_000_000);
                carry /= 1_000_000_000;
            }
        };
        let shift;
        if exp2 >= 0 {
            let mut e = exp2;
            while e > 0 {
                let k = e.min(30);
                mul(&mut limbs, 1u64 << k);
                e -= k;
            }
            shift = 0;
        } else {
            // m × 2^-k = m × 5^k / 10^k
            let mut e = -exp2;
            shift = e;
            while e > 0 {
                let k = e.min(13);
                mul(&mut limbs, 5u64.pow(k as u32));
                e -= k;
            }
        }
        while limbs.len() > 1 && *limbs.last().unwrap() == 0 {
            limbs.pop();
        }
        let mut s = limbs.last().unwrap().to_string();
        for l in limbs.iter().rev().skip(1) {
            s.push_str(&format!("{l:09}"));
        }
        let mut digits: Vec<u8> = s.into_bytes();
        let dp = digits.len() as i32 - shift;
        while digits.last() == Some(&b'0') {
            digits.pop();
        }
        Decimal { digits, dp }
    }

    /// The shortest digits that round-trip (what Go's precision -1 prints).
    fn shortest(v: f64) -> Decimal {
        if v == 0.0 {
            return Decimal {
                digits: Vec::new(),
                dp: 0,
            };
        }
        // Rust's `{:e}` prints the shortest round-tripping digits, as Go does.
        let s = format!("{:e}", v.abs());
        let (mant, exp) = s.split_once('e').expect("exponent");
        let exp: i32 = exp.parse().expect("exponent digits");
        let mut digits: Vec<u8> = mant.bytes().filter(|b| *b != b'.').collect();
        while digits.last() == Some(&b'0') {
            digits.pop();
        }
        Decimal {
            digits,
            dp: exp + 1,
        }
    }

    /// Keeps `nd` significant digits, rounding half to even on exact ties.
    fn round(&mut self, nd: i32) {
        if nd < 0 {
            self.digits.clear();
            self.dp = 0;
            return;
        }
        let nd = nd as usize;
        if nd >= self.digits.len() {
            return;
        }
        let d = self.digits[nd];
        let up = match d.cmp(&b'5') {
            std::cmp::Ordering::Greater => true,
            std::cmp::Ordering::Less => false,
            std::cmp::Ordering::Equal => {
                if nd + 1 < self.digits.len() {
                    true // more non-zero digits follow (no trailing zeros)
                } else {
                    nd > 0 && (self.digits[nd - 1] - b'0') % 2 == 1
                }
            }
        };
        self.digits.truncate(nd);
        if up {
            let mut i = nd;
            loop {
                if i == 0 {
                    self.digits.clear();
                    self.digits.push(b'1');
                    self.dp += 1;
                    break;
                }
                i -= 1;
                if self.digits[i] < b'9' {
                    self.digits[i] += 1;
                    self.digits.truncate(i + 1);
                    break;
                }
            }
        }
        while self.digits.last() == Some(&b'0') {
            self.digits.pop();
        }
        if self.digits.is_empty() {
            self.dp = 0;
        }
    }
}

fn fmt_e(d: &Decimal, prec: i32, upper: bool, out: &mut String) {
    out.push(d.digits.first().map(|b| *b as char).unwrap_or('0'));
    if prec > 0 {
        out.push('.');
        for i in 1..=prec as usize {
            out.push(d.digits.get(i).map(|b| *b as char).unwrap_or('0'));
        }
    }
    out.push(if upper { 'E' } else { 'e' });
    let exp = if d.digits.is_empty() { 0 } else { d.dp - 1 };
    out.push(if exp < 0 { '-' } else { '+' });
    let a = exp.unsigned_abs();
    if a < 10 {
        out.push('0');
    }
    out.push_str(&a.to_string());
}

fn fmt_f(d: &Decimal, prec: i32, out: &mut String) {
    if d.dp > 0 {
        for i in 0..d.dp as usize {
            out.push(d.digits.get(i).map(|b| *b as char).unwrap_or('0'));
        }
    } else {
        out.push('0');
    }
    if prec > 0 {
        out.push('.');
        for i in 1..=prec {
            let j = d.dp + i - 1;
            let c = if j >= 0 {
                d.digits.get(j as usize).copied()
            } else {
                None
            };
            out.push(c.map(|b| b as char).unwrap_or('0'));
        }
    }
}

/// Go's `strconv.FormatFloat(v, verb, prec, 64)` for verbs e, E, f, g, G.
/// `prec < 0` means the shortest representation.
pub fn format_float(v: f64, verb: char, prec: i32) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let mut out = String::new();
    if v.is_sign_negative() {
        out.push('-');
    }
    let shortest = prec < 0;
    let mut prec = prec;
    let mut d;
    if shortest {
        d = Decimal::shortest(v);
        prec = match verb {
            'e' | 'E' => d.digits.len() as i32 - 1,
            'f' => (d.digits.len() as i32 - d.dp).max(0),
            _ => d.digits.len() as i32,
        };
    } else {
        d = Decimal::exact(v);
        match verb {
            'e' | 'E' => d.round(prec + 1),
            'f' => d.round(d.dp + prec),
            _ => {
                if prec == 0 {
                    prec = 1;
                }
                d.round(prec)
            }
        }
    }
    match verb {
        'e' | 'E' => fmt_e(&d, prec, verb == 'E', &mut out),
        'f' => fmt_f(&d, prec, &mut out),
        _ => {
            let nd = d.digits.len() as i32;
            let mut eprec = prec;
            if eprec > nd && nd >= d.dp {
                eprec = nd;
            }
            if shortest {
                eprec = 6;
            }
            let exp = d.dp - 1;
            if exp < -4 || exp >= eprec {
                if prec > nd {
                    prec = nd;
                }
                fmt_e(&d, prec - 1, verb == 'G', &mut out);
            } else {
                if prec > d.dp {
                    prec = nd;
                }
                fmt_f(&d, (prec - d.dp).max(0), &mut out);
            }
        }
    }
    out
}

/// `fmt.Sprint(f)` / `%v` of a float64.
pub fn format_float_v(v: f64) -> String {
    format_float(v, 'g', -1)
}

/// Go's `strconv.Quote`.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            c if is_print(c) => out.push(c),
            c if (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push('"');
    out
}

/// Approximates Go's `unicode.IsPrint`: graphic characters and ASCII space.
pub fn is_print(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    !(c.is_control()
        || c.is_whitespace()
        || ('\u{fff9}'..='\u{fffb}').contains(&c)
        || c == '\u{ad}')
}

/// Flags and sizes of one printf verb.
#[derive(Debug, Default, Clone)]
pub struct Spec {
    pub minus: bool,
    pub plus: bool,
    pub sharp: bool,
    pub space: bool,
    pub zero: bool,
    pub width: Option<usize>,
    pub prec: Option<usize>,
}

impl Spec {
    /// Pads `s` to the width, with spaces (or zeros when asked for).
    pub fn pad(&self, s: &str) -> String {
        let n = s.chars().count();
        let Some(w) = self.width.filter(|w| *w > n) else {
            return s.to_string();
        };
        let fill = w - n;
        if self.minus {
            format!("{s}{}", " ".repeat(fill))
        } else if self.zero {
            format!("{}{s}", "0".repeat(fill))
        } else {
            format!("{}{s}", " ".repeat(fill))
        }
    }

    /// `%e %f %g` and friends of a float, with sign and zero-padding rules of fmt.
    pub fn float(&self, v: f64, verb: char) -> String {
        let prec = match (self.prec, verb) {
            (Some(p), _) => p as i32,
            (None, 'e' | 'E' | 'f' | 'F') => 6,
            (None, _) => -1,
        };
        let verb = if verb == 'F' { 'f' } else { verb };
        let num = format_float(v, verb, prec);
        let (sign, body) = match num.strip_prefix('-') {
            Some(b) => ("-", b.to_string()),
            None => match num.strip_prefix('+') {
                Some(b) => ("+", b.to_string()),
                None => ("+", num.clone()),
            },
        };
        if body == "Inf" || body == "NaN" {
            let s = if body == "NaN" && !self.plus && !self.space {
                body
            } else if sign == "+" && self.space && !self.plus {
                format!(" {body}")
            } else if body == "Inf" && sign == "+" && !self.plus && !self.space {
                "+Inf".to_string()
            } else {
                format!("{sign}{body}")
            };
            let mut sp = self.clone();
            sp.zero = false;
            return sp.pad(&s);
        }
        let sign = if sign == "+" {
            if self.plus {
                "+"
            } else if self.space {
                " "
            } else {
                ""
            }
        } else {
            sign
        };
        self.signed_number(sign, &body)
    }

    /// Pads a number whose sign must stay in front of zero padding.
    pub fn signed_number(&self, sign: &str, body: &str) -> String {
        let n = sign.len() + body.len();
        match self.width {
            Some(w) if self.zero && !self.minus && w > n => {
                format!("{sign}{}{body}", "0".repeat(w - n))
            }
            _ => {
                let mut sp = self.clone();
                sp.zero = false;
                sp.pad(&format!("{sign}{body}"))
            }
        }
    }

    /// `%d %x %X %o %b` of an integer.
    pub fn int(&self, v: i64, verb: char) -> String {
        let a = v.unsigned_abs();
        let mut body = match verb {
            'x' => format!("{a:x}"),
            'X' => format!("{a:X}"),
            'o' => format!("{a:o}"),
            'b' => format!("{a:b}"),
            _ => a.to_string(),
        };
        if let Some(p) = self.prec {
            if p == 0 && v == 0 {
                body.clear();
            }
            while body.len() < p {
                body.insert(0, '0');
            }
        }
        if self.sharp {
            match verb {
                'x' => body.insert_str(0, "0x"),
                'X' => body.insert_str(0, "0X"),
                'o' if !body.starts_with('0') => body.insert(0, '0'),
                _ => {}
            }
        }
        let sign = if v < 0 {
            "-"
        } else if self.plus {
            "+"
        } else if self.space {
            " "
        } else {
            ""
        };
        if self.prec.is_some() {
            // Go ignores the zero flag when a precision is given for integers.
            let mut sp = self.clone();
            sp.zero = false;
            return sp.signed_number(sign, &body);
        }
        self.signed_number(sign, &body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected strings are Go's (fmt/strconv), confirmed through promtool 3.5.3
    // annotations for the values used in template tests.
    #[test]
    fn shortest_like_go_v() {
        for (v, want) in [
            (0.035, "0.035"),
            (1234567.0, "1.234567e+06"),
            (1e-05, "1e-05"),
            (3.5e-05, "3.5e-05"),
            (123456.0, "123456"),
            (1e6, "1e+06"),
            (0.0001, "0.0001"),
            (0.0, "0"),
            (-1.5, "-1.5"),
            (1e21, "1e+21"),
            (1.435065584128e9, "1.435065584128e+09"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (f64::NAN, "NaN"),
        ] {
            assert_eq!(format_float_v(v), want, "{v}");
        }
    }

    #[test]
    fn fixed_precision_rounds_half_even_on_exact_ties() {
        assert_eq!(format_float(12345.0, 'g', 4), "1.234e+04");
        assert_eq!(format_float(999999.0, 'g', 4), "1e+06");
        assert_eq!(format_float(1234567.0, 'e', 3), "1.235e+06");
        assert_eq!(format_float(-1.5, 'f', 0), "-2");
        assert_eq!(format_float(0.5, 'f', 0), "0");
        assert_eq!(format_float(2.5, 'f', 0), "2");
        // 0.035 is slightly below 0.035 in binary: no tie.
        assert_eq!(format_float(0.035, 'f', 2), "0.04");
        assert_eq!(format_float(-0.0042, 'f', 0), "-0");
        assert_eq!(format_float(1e21, 'f', 1), "1000000000000000000000.0");
        assert_eq!(format_float(1e-05, 'f', 6), "0.000010");
        assert_eq!(format_float(0.0, 'e', 6), "0.000000e+00");
        assert_eq!(format_float(5e-324, 'e', 3), "4.941e-324");
        assert_eq!(format_float(1.0, 'g', 4), "1");
        assert_eq!(format_float(100.0, 'g', 4), "100");
    }

    #[test]
    fn widths_and_flags() {
        let s = |minus, plus, zero, width, prec| Spec {
            minus,
            plus,
            zero,
            width,
            prec,
            ..Default::default()
        };
        assert_eq!(
            s(false, false, false, Some(8), Some(2)).float(0.035, 'f'),
            "    0.04"
        );
        assert_eq!(
            s(true, false, false, Some(8), Some(1)).float(0.035, 'f'),
            "0.0     "
        );
        assert_eq!(
            s(false, true, false, None, Some(1)).float(0.035, 'f'),
            "+0.0"
        );
        assert_eq!(
            s(false, false, true, Some(5), Some(1)).float(-1.5, 'f'),
            "-01.5"
        );
        assert_eq!(s(false, false, true, Some(5), None).int(-42, 'd'), "-0042");
        assert_eq!(s(false, false, false, None, None).int(255, 'x'), "ff");
    }

    #[test]
    fn quote_like_strconv() {
        assert_eq!(quote("a\"b\\c\n\u{1}é"), "\"a\\\"b\\\\c\\n\\x01é\"");
    }
}
