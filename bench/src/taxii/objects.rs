//! The objects: generated one by one from the seed, each valid STIX 2.1, and the count and hash sum a client
//! must see.

use super::*;

/// When the first object was added; object `i` was added `i` milliseconds later, so every `date_added` differs.
pub(super) fn first_added() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0)
        .single()
        .unwrap_or_default()
}

/// The kinds of object generated, with their weights out of 100. Object 0 is the identity that created them
/// all.
const MIX: [(&str, u32); 8] = [
    ("indicator", 35),
    ("relationship", 25),
    ("vulnerability", 12),
    ("malware", 8),
    ("attack-pattern", 8),
    ("report", 5),
    ("threat-actor", 4),
    ("identity", 3),
];

/// Object `i`'s own random numbers: every object can be made on its own, in any order.
fn rng(seed: u64, i: usize) -> StdRng {
    StdRng::seed_from_u64(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ i as u64)
}

fn kind(seed: u64, i: usize) -> &'static str {
    if i == 0 {
        return "identity";
    }
    let mut pick = rng(seed, i).gen_range(0..100u32);
    for (kind, weight) in MIX {
        if pick < weight {
            return kind;
        }
        pick -= weight;
    }
    "indicator"
}

fn stix_id(seed: u64, i: usize) -> String {
    let name = format!("bench:{seed}:{i}");
    format!(
        "{}--{}",
        kind(seed, i),
        Uuid::new_v5(&stix::NAMESPACE, name.as_bytes())
    )
}

/// An object earlier than `i` that a relationship may point at (not a relationship itself).
fn earlier_sdo(seed: u64, i: usize, r: &mut StdRng) -> String {
    let j = r.gen_range(0..i.max(1));
    if kind(seed, j) == "relationship" {
        stix_id(seed, 0)
    } else {
        stix_id(seed, j)
    }
}

/// One generated object: valid STIX 2.1, marked TLP:GREEN, created by object 0.
pub struct Generated {
    pub stix_id: String,
    pub kind: &'static str,
    pub modified: DateTime<Utc>,
    pub added: DateTime<Utc>,
    pub body: String,
}

fn hex(r: &mut StdRng, digits: usize) -> String {
    (0..digits)
        .map(|_| char::from_digit(r.gen_range(0..16), 16).unwrap_or('0'))
        .collect()
}

fn pick(r: &mut StdRng, choices: &[&'static str]) -> &'static str {
    choices
        .get(r.gen_range(0..choices.len().max(1)))
        .copied()
        .unwrap_or_default()
}

pub fn object(seed: u64, i: usize) -> Generated {
    let kind = kind(seed, i);
    let id = stix_id(seed, i);
    let mut r = rng(seed, i);
    // The first draw chose the kind; these are the object's own.
    let _ = r.gen_range(0..100u32);
    let added = first_added() + Span::milliseconds(i as i64);
    let created = added - Span::milliseconds(r.gen_range(86_400_000..400 * 86_400_000i64));
    let modified = created + Span::milliseconds(r.gen_range(0..30 * 86_400_000i64));
    let (created_text, modified_text) = (stix::timestamp(created), stix::timestamp(modified));
    let mut o = json!({
        "type": kind,
        "spec_version": "2.1",
        "id": id,
        "created": created_text,
        "modified": modified_text,
        "created_by_ref": stix_id(seed, 0),
        "object_marking_refs": [stix::marking_id(Tlp::Green)],
    });
    let n = r.gen_range(1..100_000u32);
    let extra = match kind {
        "indicator" => {
            let pattern = match r.gen_range(0..4) {
                0 => format!(
                    "[ipv4-addr:value = '198.51.{}.{}']",
                    r.gen_range(0..256),
                    r.gen_range(0..256)
                ),
                1 => format!("[domain-name:value = 'h{}.example.net']", hex(&mut r, 10)),
                2 => format!("[file:hashes.'SHA-256' = '{}']", hex(&mut r, 64)),
                _ => format!(
                    "[url:value = 'https://c2-{}.example.org/{}'] AND [network-traffic:dst_port = {}]",
                    hex(&mut r, 6),
                    hex(&mut r, 12),
                    r.gen_range(1024..65535)
                ),
            };
            json!({
                "name": format!("Indicator {n}"),
                "indicator_types": ["malicious-activity"],
                "pattern": pattern,
                "pattern_type": "stix",
                "valid_from": created_text,
            })
        }
        "relationship" => json!({
            "relationship_type": "related-to",
            "source_ref": earlier_sdo(seed, i, &mut r),
            "target_ref": earlier_sdo(seed, i, &mut r),
        }),
        "vulnerability" => {
            let cve = format!("CVE-{}-{}", r.gen_range(2015..2027), r.gen_range(1000..60000));
            json!({
                "name": cve,
                "description": format!("Out-of-bounds write in the parser of component {n} allows remote code execution."),
                "external_references": [{"source_name": "cve", "external_id": cve}],
            })
        }
        "malware" => json!({
            "name": format!("Malware family {n}"),
            "is_family": true,
            "malware_types": [pick(&mut r, &["ransomware", "trojan", "backdoor", "dropper"])],
        }),
        "attack-pattern" => {
            let technique = format!("T{}", r.gen_range(1001..1660));
            json!({
                "name": format!("Technique {technique}"),
                "external_references": [{"source_name": "mitre-attack", "external_id": technique}],
            })
        }
        "report" => {
            let refs: Vec<String> = (0..r.gen_range(1..6))
                .map(|_| stix_id(seed, r.gen_range(0..i.max(1))))
                .collect();
            json!({
                "name": format!("Threat report {n}"),
                "report_types": ["threat-report"],
                "published": modified_text,
                "object_refs": refs,
            })
        }
        "threat-actor" => json!({
            "name": format!("Actor {n}"),
            "threat_actor_types": [pick(&mut r, &["crime-syndicate", "nation-state", "hacker"])],
        }),
        _ => json!({
            "name": format!("Organisation {n}"),
            "identity_class": "organization",
        }),
    };
    if let (Some(o), Value::Object(extra)) = (o.as_object_mut(), extra) {
        o.extend(extra);
    }
    Generated {
        stix_id: id,
        kind,
        modified,
        added,
        body: o.to_string(),
    }
}

/// An id's hash; a set of ids is checked by their count and the wrapping sum of their hashes.
pub(super) fn id_hash(id: &str) -> u64 {
    let mut h = DefaultHasher::new();
    id.hash(&mut h);
    h.finish()
}

/// The count and hash sum of the first `n` objects (the collection's first `n`, in `date_added` order).
pub(super) fn expected(seed: u64, n: usize) -> (usize, u64) {
    (0..n).fold((0, 0u64), |(c, s), i| {
        (c + 1, s.wrapping_add(id_hash(&stix_id(seed, i))))
    })
}
