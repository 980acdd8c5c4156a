//! How the corpus writes a vulnerability up: prose in four languages with synonyms, reordered sentences and
//! optional boilerplate; titles; stack traces as each ecosystem prints them, with per-run addresses.

use super::{Eco, Rng, USERS, Vuln, capitalise};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Lang {
    En,
    De,
    Fr,
    Es,
}

struct Phrases {
    summary: &'static [&'static str],
    detail: &'static [&'static str],
    impact: &'static [&'static str],
    repro: &'static [&'static str],
    boilerplate: &'static [&'static str],
    attacker: &'static [&'static str],
    effect: &'static [&'static str],
    check: &'static [&'static str],
    size: &'static [&'static str],
    title: &'static [&'static str],
    nowhere: &'static str,
}

const EN: Phrases = Phrases {
    summary: &[
        "{Bug} in {where} of {prod} allows {attacker} to {effect} via a crafted {thing}.",
        "{prod} is affected by {bug} in {where} when it processes a malformed {thing}.",
        "When {prod} parses an oversized {thing}, {where} triggers {bug}.",
    ],
    detail: &[
        "The {f} function in {file} does not {check} the {size} of the input before copying it into a fixed-size buffer.",
        "{file} trusts a length field taken from the {thing} and never compares it with the {size} of the destination.",
        "The code in {file} uses a value from the {thing} without any {check} of its {size}.",
    ],
    impact: &[
        "An attacker who controls the input can {effect}.",
        "Successful exploitation lets {attacker} {effect}.",
        "In the worst case this allows {attacker} to {effect}.",
    ],
    repro: &[
        "To reproduce, build with sanitizers enabled and feed the attached {thing} to the command-line tool.",
        "The attached reproducer triggers the crash reliably on the latest release.",
        "Steps to reproduce: compile with AddressSanitizer, then run the attached test case.",
    ],
    boilerplate: &[
        "We found this issue with our fuzzing pipeline.",
        "Please treat this report as confidential until a fix is available.",
        "This finding was produced with the help of automated analysis.",
        "Let us know if you need more information.",
        "We are happy to help test a patch.",
        "Thanks for maintaining this project.",
        "A suggested patch is attached.",
        "Reported by {finder}.",
    ],
    attacker: &[
        "remote attackers",
        "an attacker",
        "unauthenticated users",
        "a malicious peer",
    ],
    effect: &[
        "execute arbitrary code",
        "cause a denial of service",
        "crash the process",
        "corrupt memory",
    ],
    check: &["check", "validation", "verification"],
    size: &["size", "length", "bounds"],
    title: &[
        "{Bug} in {prod} {f}",
        "{prod}: {bug} in {f}()",
        "{Bug} when parsing {thing} in {prod}",
    ],
    nowhere: "the {thing} handling code",
};

const DE: Phrases = Phrases {
    summary: &[
        "{Bug} in {where} von {prod} erlaubt {attacker}, über ein präpariertes {thing} {effect}.",
        "{prod} enthält {bug} in {where}, wenn ein fehlerhaftes {thing} verarbeitet wird.",
    ],
    detail: &[
        "Die Funktion {f} in {file} prüft die {size} der Eingabe nicht, bevor sie in einen Puffer fester Größe kopiert wird.",
        "{file} vertraut einem Längenfeld aus dem {thing} und vergleicht es nie mit der {size} des Ziels.",
    ],
    impact: &[
        "Ein Angreifer, der die Eingabe kontrolliert, kann {effect}.",
        "Im schlimmsten Fall erlaubt das {attacker}, {effect}.",
    ],
    repro: &[
        "Zum Nachvollziehen mit Sanitizern bauen und das angehängte {thing} an das Kommandozeilenwerkzeug übergeben.",
        "Der angehängte Testfall löst den Absturz zuverlässig aus.",
    ],
    boilerplate: &[
        "Wir haben das Problem mit unserer Fuzzing-Pipeline gefunden.",
        "Bitte behandeln Sie diesen Bericht vertraulich, bis eine Korrektur verfügbar ist.",
        "Gemeldet von {finder}.",
        "Wir helfen gerne beim Testen eines Patches.",
    ],
    attacker: &[
        "entfernten Angreifern",
        "einem Angreifer",
        "nicht authentifizierten Nutzern",
    ],
    effect: &[
        "beliebigen Code auszuführen",
        "einen Dienstausfall zu verursachen",
        "den Prozess abstürzen zu lassen",
    ],
    check: &["Prüfung", "Validierung"],
    size: &["Größe", "Länge", "Grenzen"],
    title: &["{Bug} in {prod} ({f})", "{prod}: {bug} in {f}()"],
    nowhere: "dem Code zur Verarbeitung von {thing}",
};

const FR: Phrases = Phrases {
    summary: &[
        "{Bug} dans {where} de {prod} permet à {attacker} de {effect} au moyen d'un {thing} forgé.",
        "{prod} présente {bug} dans {where} lors du traitement d'un {thing} malformé.",
    ],
    detail: &[
        "La fonction {f} dans {file} ne vérifie pas la {size} de l'entrée avant de la copier dans un tampon de taille fixe.",
        "{file} fait confiance à un champ de longueur issu du {thing} sans jamais le comparer à la {size} de la destination.",
    ],
    impact: &[
        "Un attaquant qui contrôle l'entrée peut {effect}.",
        "Dans le pire des cas, cela permet à {attacker} de {effect}.",
    ],
    repro: &[
        "Pour reproduire, compiler avec les sanitizers et passer le {thing} joint à l'outil en ligne de commande.",
        "Le cas de test joint provoque le plantage de manière fiable.",
    ],
    boilerplate: &[
        "Nous avons trouvé ce problème avec notre chaîne de fuzzing.",
        "Merci de traiter ce rapport de manière confidentielle jusqu'à la publication d'un correctif.",
        "Signalé par {finder}.",
        "Nous pouvons aider à tester un correctif.",
    ],
    attacker: &[
        "des attaquants distants",
        "un attaquant",
        "des utilisateurs non authentifiés",
    ],
    effect: &[
        "exécuter du code arbitraire",
        "provoquer un déni de service",
        "faire planter le processus",
    ],
    check: &["vérification", "validation"],
    size: &["taille", "longueur", "limite"],
    title: &["{Bug} dans {prod} ({f})", "{prod} : {bug} dans {f}()"],
    nowhere: "le code de traitement des {thing}",
};

const ES: Phrases = Phrases {
    summary: &[
        "{Bug} en {where} de {prod} permite a {attacker} {effect} mediante un {thing} manipulado.",
        "{prod} contiene {bug} en {where} al procesar un {thing} malformado.",
    ],
    detail: &[
        "La función {f} en {file} no comprueba el {size} de la entrada antes de copiarla en un búfer de tamaño fijo.",
        "{file} confía en un campo de longitud tomado del {thing} y nunca lo compara con el {size} del destino.",
    ],
    impact: &[
        "Un atacante que controle la entrada puede {effect}.",
        "En el peor caso, esto permite a {attacker} {effect}.",
    ],
    repro: &[
        "Para reproducirlo, compile con sanitizers y pase el {thing} adjunto a la herramienta de línea de comandos.",
        "El caso de prueba adjunto provoca el fallo de forma fiable.",
    ],
    boilerplate: &[
        "Encontramos este problema con nuestra cadena de fuzzing.",
        "Por favor, trate este informe como confidencial hasta que haya una corrección.",
        "Informado por {finder}.",
        "Podemos ayudar a probar un parche.",
    ],
    attacker: &["atacantes remotos", "un atacante", "usuarios no autenticados"],
    effect: &[
        "ejecutar código arbitrario",
        "provocar una denegación de servicio",
        "bloquear el proceso",
    ],
    check: &["comprobación", "validación"],
    size: &["tamaño", "longitud", "límite"],
    title: &["{Bug} en {prod} ({f})", "{prod}: {bug} en {f}()"],
    nowhere: "el código que procesa {thing}",
};

fn phrases(lang: Lang) -> &'static Phrases {
    match lang {
        Lang::En => &EN,
        Lang::De => &DE,
        Lang::Fr => &FR,
        Lang::Es => &ES,
    }
}

impl Vuln {
    fn bug(&self, lang: Lang, rng: &mut Rng) -> &'static str {
        let w = self.weakness();
        match lang {
            Lang::En => rng.pick(&w.en),
            Lang::De => rng.pick(&w.de),
            Lang::Fr => rng.pick(&w.fr),
            Lang::Es => rng.pick(&w.es),
        }
    }

    /// Fills a template; a `vague` report never names the function.
    fn fill(&self, template: &str, lang: Lang, finder: &str, vague: bool, rng: &mut Rng) -> String {
        let p = phrases(lang);
        let bug = self.bug(lang, rng);
        let nowhere = p.nowhere.replace("{thing}", self.thing);
        let place = if !vague && rng.chance(0.85) {
            format!("{}()", self.function)
        } else {
            nowhere.clone()
        };
        let function = if vague { nowhere } else { self.function.clone() };
        template
            .replace("{Bug}", &capitalise(bug))
            .replace("{bug}", bug)
            .replace("{where}", &place)
            .replace("{prod}", &self.product)
            .replace("{f}()", &function)
            .replace("{f}", &function)
            .replace("{file}", &self.file)
            .replace("{thing}", self.thing)
            .replace("{attacker}", rng.pick(p.attacker))
            .replace("{effect}", rng.pick(p.effect))
            .replace("{check}", rng.pick(p.check))
            .replace("{size}", rng.pick(p.size))
            .replace("{finder}", finder)
    }

    pub(super) fn title(&self, lang: Lang, vague: bool, rng: &mut Rng) -> String {
        let template = rng.pick(phrases(lang).title);
        self.fill(template, lang, "", vague, rng)
    }

    /// A summary, then detail, impact and reproduction in a random order, some left out, with boilerplate.
    pub(super) fn prose(&self, lang: Lang, finder: &str, vague: bool, rng: &mut Rng) -> String {
        let p = phrases(lang);
        let mut sentences = Vec::new();
        for (group, keep) in [(p.detail, 0.8), (p.impact, 0.7), (p.repro, 0.6)] {
            if rng.chance(keep) {
                let template = rng.pick(group);
                sentences.push(self.fill(template, lang, finder, vague, rng));
            }
        }
        for _ in 0..rng.below(4) {
            let template = rng.pick(p.boilerplate);
            sentences.push(self.fill(template, lang, finder, vague, rng));
        }
        rng.shuffle(&mut sentences);
        let summary = rng.pick(p.summary);
        let summary = self.fill(summary, lang, finder, vague, rng);
        if rng.chance(0.7) {
            sentences.insert(0, summary);
        } else {
            sentences.push(summary);
        }
        sentences.join(" ")
    }

    /// The crash as this ecosystem prints it; addresses, PIDs and build paths change with every run.
    pub(super) fn trace(&self, rng: &mut Rng) -> String {
        let prefix = match rng.below(4) {
            0 => format!("/home/{}/src/{}", rng.pick(&USERS), self.product),
            1 => format!("/build/{}-{:08x}", self.product, rng.next() as u32),
            2 => format!("/tmp/work/{}", self.product),
            _ => format!("/srv/ci/{}/checkout", rng.pick(&USERS)),
        };
        let line_of = |name: &str| 10 + name.len() * 37 % 500;
        let mut frames: Vec<(String, String, usize)> =
            vec![(self.function.clone(), self.file.clone(), self.line as usize)];
        for caller in &self.callers {
            frames.push((caller.clone(), self.file.clone(), line_of(caller)));
        }
        let mut out = String::new();
        let addr = |rng: &mut Rng| format!("0x{:012x}", rng.next() & 0xffff_ffff_ffff);
        match self.eco {
            Eco::C => {
                let w = self.weakness();
                let pid = 1000 + rng.below(60000);
                let header = if w.asan.starts_with("runtime error") {
                    format!(
                        "{prefix}/src/{}:{}:5: {}: 2147483647 + 1 cannot be represented in type 'int'",
                        self.file, self.line, w.asan
                    )
                } else {
                    format!(
                        "=={pid}==ERROR: {} {} at pc {} bp {} sp {}",
                        w.asan,
                        addr(rng),
                        addr(rng),
                        addr(rng),
                        addr(rng)
                    )
                };
                out.push_str(&header);
                out.push_str(&format!(
                    "\nWRITE of size {} at {} thread T0\n",
                    1 + rng.below(16),
                    addr(rng)
                ));
                let mut n = 0;
                if rng.chance(0.5) {
                    out.push_str(&format!(
                        "    #0 {} in __asan_memcpy (/usr/lib/llvm-{v}/lib/clang/{v}/lib/linux/libclang_rt.asan-x86_64.so+{})\n",
                        addr(rng),
                        addr(rng),
                        v = 14 + rng.below(4)
                    ));
                    n = 1;
                }
                for (i, (f, file, line)) in frames.iter().enumerate() {
                    out.push_str(&format!(
                        "    #{} {} in {f} {prefix}/src/{file}:{line}:{}\n",
                        n + i,
                        addr(rng),
                        3 + i
                    ));
                }
                out.push_str(&format!(
                    "    #{} {} in __libc_start_main (/lib/x86_64-linux-gnu/libc.so.6+{})\n\nSUMMARY: {} {prefix}/src/{}:{} in {}",
                    n + frames.len(),
                    addr(rng),
                    addr(rng),
                    w.asan.split(" on ").next().unwrap_or(w.asan),
                    self.file,
                    self.line,
                    self.function
                ));
            }
            Eco::Rust => {
                out.push_str(&format!(
                    "thread 'main' panicked at src/{}:{}:9:\nindex out of bounds: the len is {} but the index is {}\nstack backtrace:\n   0: rust_begin_unwind\n   1: core::panicking::panic_fmt\n   2: core::panicking::panic_bounds_check\n",
                    self.file,
                    self.line,
                    rng.below(64),
                    64 + rng.below(64)
                ));
                let addresses = rng.chance(0.5);
                for (i, (f, file, line)) in frames.iter().enumerate() {
                    let module = file.trim_end_matches(".rs");
                    if addresses {
                        out.push_str(&format!(
                            "  {:2}: {} - {}::{module}::{f}::h{:016x}\n",
                            i + 3,
                            addr(rng),
                            self.product,
                            rng.next()
                        ));
                    } else {
                        out.push_str(&format!(
                            "  {:2}: {}::{module}::{f}\n             at ./src/{file}:{line}:9\n",
                            i + 3,
                            self.product
                        ));
                    }
                }
                out.push_str(
                    "note: Some details are omitted, run with `RUST_BACKTRACE=full` for a verbose backtrace.",
                );
            }
            Eco::Java => {
                out.push_str(&format!(
                    "Exception in thread \"main\" java.lang.ArrayIndexOutOfBoundsException: Index {} out of bounds for length {}\n",
                    64 + rng.below(64),
                    rng.below(64)
                ));
                for (f, file, line) in &frames {
                    let class = file.trim_end_matches(".java");
                    out.push_str(&format!(
                        "\tat com.{}.{}.{class}.{f}({file}:{line})\n",
                        self.vendor, self.product
                    ));
                }
            }
            Eco::Python => {
                out.push_str("Traceback (most recent call last):\n");
                for (f, file, line) in frames.iter().rev() {
                    out.push_str(&format!(
                        "  File \"{prefix}/lib/python3.{}/site-packages/{}/{file}\", line {line}, in {f}\n",
                        9 + rng.below(4),
                        self.product
                    ));
                }
                out.push_str("IndexError: list index out of range");
            }
            Eco::Js => {
                out.push_str("TypeError: Cannot read properties of undefined (reading 'length')\n");
                for (f, file, line) in &frames {
                    out.push_str(&format!(
                        "    at {f} ({prefix}/node_modules/@{}/{}/lib/{file}:{line}:{})\n",
                        self.vendor,
                        self.product,
                        5 + rng.below(30)
                    ));
                }
                out.push_str(&format!(
                    "    at Module._compile (node:internal/modules/cjs/loader:{}:14)",
                    1000 + rng.below(400)
                ));
            }
        }
        out
    }
}
