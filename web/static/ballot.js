/* Owner Vote ballot page (业主投票页). Plain JS, no framework, no third-party code.
 *
 * 1. Read the credential code from the URL fragment (#k=...) or a typed field and
 *    check it exactly as crypto/credentials.py does (docs/credentials.md §2-3).
 * 2. Derive the member's Ed25519 key: seed = SHA-256("owner-vote/credential/v1" 0x00
 *    meeting_id 0x00 secret), imported through the fixed PKCS#8 prefix (WebCrypto).
 * 3. Build the canonical ballot JSON (RFC 8785 for our subset: ASCII keys sorted,
 *    strings, integers, lists), sign "owner-vote/ballot/v1" 0x00 bytes, POST the
 *    exact text with the signature, show the receipt's tracking code.
 * The secret never leaves the phone: it is in the fragment, which browsers do not send.
 */
(function () {
  "use strict";

  var ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  var LOOKALIKE = { "0": "O", "1": "I", "8": "B" };
  var PKCS8_PREFIX = [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b,
    0x65, 0x70, 0x04, 0x22, 0x04, 0x20];
  var CREDENTIAL_DOMAIN = "owner-vote/credential/v1";
  var BALLOT_DOMAIN = "owner-vote/ballot/v1";

  var data = JSON.parse(document.getElementById("meeting-data").textContent);
  var T = data.text;
  var state = { key: null, member: null, sending: false };

  function $(id) { return document.getElementById(id); }
  function show(id, on) { $(id).hidden = !on; }
  function say(id, text) { $(id).textContent = text; }
  function fmt(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, name) { return String(values[name]); });
  }

  // ---------------------------------------------------------------- bytes
  var utf8 = new TextEncoder();
  function concat(parts) {
    var total = 0, i, out, offset = 0;
    for (i = 0; i < parts.length; i++) total += parts[i].length;
    out = new Uint8Array(total);
    for (i = 0; i < parts.length; i++) { out.set(parts[i], offset); offset += parts[i].length; }
    return out;
  }
  function hex(bytes) {
    var s = "", i;
    for (i = 0; i < bytes.length; i++) s += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16);
    return s;
  }
  function fromBase64Url(text) {
    var b = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4));
    var out = new Uint8Array(b.length), i;
    for (i = 0; i < b.length; i++) out[i] = b.charCodeAt(i);
    return out;
  }

  // ------------------------------------------------- credential code (§2-3)
  function timesX(v) { v <<= 1; if (v & 32) v ^= 0x25; return v; }

  function parseCode(text) {
    var normal = text.normalize("NFKC").toUpperCase(), values = [], i, ch, sym, v, s = 0;
    var chars = Array.from(normal);
    for (i = 0; i < chars.length; i++) {
      ch = chars[i];
      if (/\s/.test(ch) || /\p{Pd}/u.test(ch)) continue;
      sym = LOOKALIKE[ch] || ch;
      v = ALPHABET.indexOf(sym);
      if (sym.length !== 1 || v < 0) throw new Error(fmt(T.code_bad_char, { ch: ch, pos: i + 1 }));
      values.push(v);
    }
    if (values.length !== 27) throw new Error(fmt(T.code_length, { n: values.length }));
    for (i = 0; i < 27; i++) s = timesX(s) ^ values[i];
    if (s !== 0) throw new Error(T.code_check);
    if (values[25] & 3) throw new Error(T.code_check);
    // base32 decode of the 26 data symbols: 130 bits, the last 2 are zero padding.
    var secret = new Uint8Array(16), acc = 0, bits = 0, n = 0;
    for (i = 0; i < 26; i++) {
      acc = (acc << 5) | values[i]; bits += 5;
      if (bits >= 8) { bits -= 8; if (n < 16) secret[n++] = (acc >> bits) & 255; }
      acc &= (1 << bits) - 1;
    }
    return secret;
  }

  // --------------------------------------------------- canonical JSON (JCS)
  function canonical(value) {
    var keys, parts, i;
    if (typeof value === "string") return JSON.stringify(value);
    if (typeof value === "number") {
      if (!Number.isSafeInteger(value)) throw new Error("non-integer in ballot");
      return String(value);
    }
    if (Array.isArray(value)) return "[" + value.map(canonical).join(",") + "]";
    if (value && typeof value === "object") {
      keys = Object.keys(value).sort();
      parts = [];
      for (i = 0; i < keys.length; i++) {
        if (!/^[\x20-\x7e]*$/.test(keys[i])) throw new Error("non-ASCII key in ballot");
        parts.push(JSON.stringify(keys[i]) + ":" + canonical(value[keys[i]]));
      }
      return "{" + parts.join(",") + "}";
    }
    throw new Error("unsupported value in ballot");
  }

  // ------------------------------------------------------------ WebCrypto
  function supported() {
    return !!(window.isSecureContext && window.crypto && crypto.subtle && window.TextEncoder &&
      String.prototype.normalize);
  }

  function deriveKey(secret) {
    var material = concat([utf8.encode(CREDENTIAL_DOMAIN), [0], utf8.encode(data.meeting.id), [0],
      secret]);
    return crypto.subtle.digest("SHA-256", material).then(function (seed) {
      var pkcs8 = concat([PKCS8_PREFIX, new Uint8Array(seed)]);
      return crypto.subtle.importKey("pkcs8", pkcs8, { name: "Ed25519" }, true, ["sign"]);
    }).then(function (key) {
      return crypto.subtle.exportKey("jwk", key).then(function (jwk) {
        return { key: key, member: hex(fromBase64Url(jwk.x)) };
      });
    });
  }

  // --------------------------------------------------------------- motions
  function choiceInputs(motion, index) {
    var box = document.createElement("fieldset"), legend = document.createElement("legend");
    var options = [], multiple = motion.type === "election", i;
    legend.textContent = (index + 1) + ". " + motion.title;
    box.appendChild(legend);
    if (multiple) {
      var note = document.createElement("p");
      note.className = "note";
      note.textContent = fmt(T.seats, { seats: motion.seats });
      box.appendChild(note);
    }
    if (motion.type === "yes-no") {
      options = [["agree", T.agree], ["oppose", T.oppose], ["abstain", T.abstain]];
    } else {
      for (i = 0; i < motion.candidates.length; i++) {
        options.push([motion.candidates[i], motion.candidates[i]]);
      }
      options.push(["abstain", T.abstain]);
    }
    options.forEach(function (opt) {
      var label = document.createElement("label"), input = document.createElement("input");
      input.type = multiple ? "checkbox" : "radio";
      input.name = "m-" + index;
      input.value = opt[0];
      input.dataset.motion = motion.id;
      label.appendChild(input);
      label.appendChild(document.createTextNode(" " + opt[1]));
      box.appendChild(label);
    });
    return box;
  }

  function readChoices() {
    var choices = {}, problems = [];
    data.meeting.motions.forEach(function (motion, index) {
      var picked = Array.prototype.filter.call(
        document.getElementsByName("m-" + index), function (el) { return el.checked; }
      ).map(function (el) { return el.value; });
      if (!picked.length) { problems.push(fmt(T.missing_choice, { n: index + 1 })); return; }
      if (motion.type !== "election") { choices[motion.id] = picked[0]; return; }
      if (picked.indexOf("abstain") >= 0) {
        if (picked.length > 1) problems.push(fmt(T.abstain_alone, { n: index + 1 }));
        choices[motion.id] = "abstain";
      } else if (picked.length > motion.seats) {
        problems.push(fmt(T.too_many, { n: index + 1, seats: motion.seats }));
      } else {
        choices[motion.id] = picked;
      }
    });
    if (problems.length) throw new Error(problems.join("\n"));
    return choices;
  }

  function randomHex(bytes) { return hex(crypto.getRandomValues(new Uint8Array(bytes))); }

  // ------------------------------------------------------------------ flow
  function useCode(text) {
    var secret;
    say("code-error", "");
    try { secret = parseCode(text); } catch (e) { say("code-error", e.message); return; }
    say("status", T.deriving);
    deriveKey(secret).then(function (derived) {
      state.key = derived.key;
      state.member = derived.member;
      show("code-entry", false);
      show("ballot", true);
      say("status", "");
    }, function () {
      say("status", "");
      show("unsupported", true);
    });
  }

  function submit(event) {
    event.preventDefault();
    if (state.sending || !state.key) return;
    var choices, text, bytes;
    say("form-error", "");
    try { choices = readChoices(); } catch (e) { say("form-error", e.message); return; }
    text = canonical({
      choices: choices, meeting: data.meeting.id, member: state.member,
      nonce: randomHex(16), roster_root: data.meeting.roster_root, v: 1
    });
    bytes = utf8.encode(text);
    state.sending = true;
    $("submit").disabled = true;
    say("status", T.sending);
    crypto.subtle.sign({ name: "Ed25519" }, state.key,
      concat([utf8.encode(BALLOT_DOMAIN), [0], bytes])
    ).then(function (signature) {
      return fetch(data.api.ballots, {
        method: "POST",
        headers: { "Content-Type": "application/json", "Accept-Language": data.lang },
        body: JSON.stringify({ ballot: text, signature: hex(new Uint8Array(signature)) }),
        credentials: "omit"
      });
    }).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok, body: body }; });
    }).then(function (result) {
      state.sending = false;
      say("status", "");
      if (!result.ok) {
        $("submit").disabled = false;
        say("form-error", result.body.message || T.failed);
        return;
      }
      return crypto.subtle.digest("SHA-256", bytes).then(function (digest) {
        showReceipt(result.body, hex(new Uint8Array(digest)));
      });
    }).catch(function () {
      state.sending = false;
      $("submit").disabled = false;
      say("status", "");
      say("form-error", T.network);
    });
  }

  function trackingCode(hashHex) {
    var bytes = [], i, acc = 0, bits = 0, out = "";
    for (i = 0; i < 8; i++) bytes.push(parseInt(hashHex.substr(i * 2, 2), 16));
    for (i = 0; i < bytes.length && out.length < 10; i++) {
      acc = (acc << 8) | bytes[i]; bits += 8;
      while (bits >= 5 && out.length < 10) { bits -= 5; out += ALPHABET[(acc >> bits) & 31]; }
      acc &= (1 << bits) - 1;
    }
    return out.slice(0, 5) + "-" + out.slice(5);
  }

  function showReceipt(receipt, ballotHash) {
    var body = receipt.body || {};
    show("ballot", false);
    show("receipt", true);
    if (body.ballot !== ballotHash) { say("receipt-warning", T.receipt_mismatch); }
    say("tracking", trackingCode(body.ballot || ballotHash));
    say("receipt-index", String(body.index));
    say("receipt-hash", body.ballot || ballotHash);
    try {
      localStorage.setItem("owner-vote-receipt:" + data.meeting.code, JSON.stringify(receipt));
    } catch (e) { /* private mode: the receipt is still on screen */ }
  }

  function start() {
    if (data.meeting.state !== "open") { show("closed", true); return; }
    if (!supported()) { show("unsupported", true); return; }
    var form = $("ballot-form");
    data.meeting.motions.forEach(function (motion, index) {
      form.insertBefore(choiceInputs(motion, index), $("submit"));
    });
    form.addEventListener("submit", submit);
    $("code-form").addEventListener("submit", function (event) {
      event.preventDefault();
      useCode($("code").value);
    });
    var match = /(?:^#|&)k=([^&]+)/.exec(location.hash);
    show("code-entry", true);
    if (match) {
      // The code is in memory now; drop it from the address bar and history.
      history.replaceState(null, "", location.pathname + location.search);
      useCode(decodeURIComponent(match[1]));
    }
  }

  start();
})();
