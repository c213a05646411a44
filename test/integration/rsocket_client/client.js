'use strict';
// An independent prometheus-rsocket-client: rsocket-js 0.0.27 over TCP or WebSocket, with the
// Java client's crypto done by Node (snappyjs raw block, AES-128-ECB/PKCS#7, RSA-OAEP with a
// SHA-256 label hash and MGF1-SHA-1 encoded by hand, as SunJCE does by default).
//
//   node client.js '{"transport":"tcp","port":7001,"name":"app1","series":3}'
//
// Options: transport (tcp|websocket), host, port, name (label value), series (count), text
// (exposition to serve instead), reply (normal|sha256|plaintext|hang|error|wrong-key|
// bad-padding|bomb), keepalive/lifetime (ms), setupData / setupMetadata (SETUP payload, e.g. an
// app GUID or {"access_key": ...}), headers (WebSocket upgrade request headers, e.g.
// Authorization), path (WebSocket path, default /), pushText (what push-close sends instead of
// one demo_dying_push gauge).
// Prints one JSON line per event on stdout: connected, key (from the FNF after SETUP), scrape,
// pushed, closed, error. Reads commands on stdin: "push-close fnf|rr <value>", "close",
// "reconnect".
const crypto = require('crypto');
const readline = require('readline');
const {RSocketClient, BufferEncoders, FLAGS, FRAME_TYPES} = require('rsocket-core');
const RSocketTcpClient = require('rsocket-tcp-client').default;
const RSocketWebSocketClient = require('rsocket-websocket-client').default;
const {Single} = require('rsocket-flowable');
const SnappyJS = require('snappyjs');
const WebSocket = require('ws');

const options = JSON.parse(process.argv[2] || '{}');
const host = options.host || '127.0.0.1';
const name = options.name || 'client';
const reply = options.reply || 'normal';

function emit(event, fields) {
  process.stdout.write(JSON.stringify({event, ...(fields || {})}) + '\n');
}

// rsocket-js 0.0.27 drops the metadata of responder payloads (no M flag; fixed in 0.0.28,
// which npm does not have): set the flag where frames are written.
function withMetadataFlag(frame) {
  if (frame.type === FRAME_TYPES.PAYLOAD && frame.metadata != null) {
    return {...frame, flags: frame.flags | FLAGS.METADATA};
  }
  return frame;
}
class FixedTcpClient extends RSocketTcpClient {
  _writeFrame(frame) {
    super._writeFrame(withMetadataFlag(frame));
  }
}
class FixedWebSocketClient extends RSocketWebSocketClient {
  _writeFrame(frame) {
    super._writeFrame(withMetadataFlag(frame));
  }
}

let scrapes = 0;
function scrapeText() {
  if (options.text) {
    return options.text;
  }
  const lines = [
    '# HELP demo_scrapes_total Scrapes answered by this client.',
    '# TYPE demo_scrapes_total counter',
    `demo_scrapes_total{client="${name}"} ${scrapes}`,
    '# HELP demo_series Series of a client.',
    '# TYPE demo_series gauge',
  ];
  for (let i = 0; i < (options.series || 1); i++) {
    lines.push(`demo_series{client="${name}",i="${i}"} ${i}`);
  }
  return lines.join('\n') + '\n';
}

function mgf1(hash, seed, length) {
  const blocks = [];
  for (let counter = 0; blocks.length * 20 < length; counter++) {
    const c = Buffer.alloc(4);
    c.writeUInt32BE(counter);
    blocks.push(crypto.createHash(hash).update(seed).update(c).digest());
  }
  return Buffer.concat(blocks).subarray(0, length);
}

// EME-OAEP (RFC 8017 7.1.1) with label hash SHA-256 and MGF1-SHA-1, then raw RSA.
function oaepSha256Mgf1Sha1(publicKey, message) {
  const k = publicKey.asymmetricKeyDetails.modulusLength / 8;
  const hLen = 32;
  const lHash = crypto.createHash('sha256').update(Buffer.alloc(0)).digest();
  const ps = Buffer.alloc(k - message.length - 2 * hLen - 2);
  const db = Buffer.concat([lHash, ps, Buffer.from([1]), message]);
  const seed = crypto.randomBytes(hLen);
  const dbMask = mgf1('sha1', seed, db.length);
  const maskedDb = Buffer.from(db.map((b, i) => b ^ dbMask[i]));
  const seedMask = mgf1('sha1', maskedDb, hLen);
  const maskedSeed = Buffer.from(seed.map((b, i) => b ^ seedMask[i]));
  const em = Buffer.concat([Buffer.from([0]), maskedSeed, maskedDb]);
  return crypto.publicEncrypt({key: publicKey, padding: crypto.constants.RSA_NO_PADDING}, em);
}

function aes(key, plain, pad) {
  const cipher = crypto.createCipheriv('aes-128-ecb', key, null);
  cipher.setAutoPadding(pad);
  return Buffer.concat([cipher.update(plain), cipher.final()]);
}

// Made before connecting: RSA key generation can take longer than a pull's deadline on a loaded
// machine, and the test wants a decrypt failure here, not a timeout.
const wrongKey =
    reply === 'wrong-key' ? crypto.generateKeyPairSync('rsa', {modulusLength: 2048}).publicKey : null;
function encryptScrape(keyDer, text) {
  if (reply === 'plaintext') {
    return {data: Buffer.from(text, 'utf8'), metadata: Buffer.from('plaintext', 'ascii')};
  }
  let publicKey = crypto.createPublicKey({key: keyDer, format: 'der', type: 'spki'});
  if (reply === 'wrong-key') {
    publicKey = wrongKey;
  }
  const aesKey = crypto.randomBytes(16);
  let compressed = Buffer.from(SnappyJS.compress(Buffer.from(text, 'utf8')));
  if (reply === 'bomb') {
    compressed = Buffer.from(SnappyJS.compress(Buffer.alloc(8 << 20)));
  }
  let data;
  if (reply === 'bad-padding') {
    const padded = Buffer.concat([compressed, Buffer.alloc(16 - (compressed.length % 16))]);
    data = aes(aesKey, padded, false);  // last byte 0x00: never valid PKCS#7
  } else {
    data = aes(aesKey, compressed, true);
  }
  const metadata = reply === 'sha256'
    ? crypto.publicEncrypt({key: publicKey, padding: crypto.constants.RSA_PKCS1_OAEP_PADDING,
                           oaepHash: 'sha256'}, aesKey)
    : oaepSha256Mgf1Sha1(publicKey, aesKey);
  return {data, metadata};
}

function setupPayload() {
  if (!options.setupData && !options.setupMetadata) {
    return undefined;
  }
  const payload = {data: Buffer.from(options.setupData || '', 'utf8')};
  if (options.setupMetadata) {
    payload.metadata = Buffer.from(options.setupMetadata, 'utf8');
  }
  return payload;
}

let latestKey = null;
let client = null;
let socket = null;
const keyId = (der) => crypto.createHash('sha256').update(der).digest('hex').slice(0, 16);

function connect() {
  const transport = options.transport === 'websocket'
    ? new FixedWebSocketClient({url: `ws://${host}:${options.port}${options.path || '/'}`,
                                wsCreator: (url) => new WebSocket(url, {headers: options.headers})},
                               BufferEncoders)
    : new FixedTcpClient({host, port: options.port}, BufferEncoders);
  client = new RSocketClient({
    setup: {
      keepAlive: options.keepalive || 20000,
      lifetime: options.lifetime || 90000,
      dataMimeType: 'application/binary',
      metadataMimeType: 'application/binary',
      payload: setupPayload(),
    },
    transport,
    responder: {
      fireAndForget(payload) {
        latestKey = payload.data;
        emit('key', {bytes: payload.data.length, id: keyId(payload.data)});
      },
      requestResponse(payload) {
        latestKey = payload.data;
        scrapes++;
        emit('scrape', {count: scrapes, id: keyId(payload.data)});
        if (reply === 'hang') {
          return new Single(() => {});
        }
        if (reply === 'error') {
          return Single.error(new Error('scrape failed on purpose'));
        }
        try {
          return Single.of(encryptScrape(payload.data, scrapeText()));
        } catch (e) {
          return Single.error(e);
        }
      },
    },
  });
  client.connect().subscribe({
    onComplete: (s) => {
      socket = s;
      emit('connected');
      s.connectionStatus().subscribe({
        onNext: (status) => {
          if (status.kind === 'CLOSED' || status.kind === 'ERROR') {
            emit('closed', {kind: status.kind, error: status.error ? String(status.error) : ''});
          }
        },
        onSubscribe: (sub) => sub.request(Number.MAX_SAFE_INTEGER),
      });
    },
    onError: (e) => emit('error', {message: String(e)}),
  });
}

function close() {
  if (client) {
    client.close();
    client = null;
    socket = null;
  }
}

function pushAndClose(kind, value) {
  if (!latestKey || !socket) {
    emit('error', {message: 'no key received yet'});
    return;
  }
  const text = options.pushText ||
      `# TYPE demo_dying_push gauge\ndemo_dying_push{client="${name}"} ${value}\n`;
  const payload = encryptScrape(latestKey, text);
  if (kind === 'rr') {
    // pushAndCloseBlockingly: wait for the proxy's empty answer, then close.
    socket.requestResponse(payload).subscribe({
      onComplete: (answer) => {
        emit('pushed', {kind, ack_bytes: answer && answer.data ? answer.data.length : 0});
        close();
      },
      onError: (e) => emit('error', {message: String(e)}),
    });
  } else {
    socket.fireAndForget(payload);
    // Unlike the Java client's pushAndClose, let the frame leave before closing.
    setTimeout(() => {
      emit('pushed', {kind});
      close();
    }, 200);
  }
}

readline.createInterface({input: process.stdin}).on('line', (line) => {
  const [command, ...args] = line.trim().split(/\s+/);
  if (command === 'push-close') {
    pushAndClose(args[0] || 'rr', args[1] || '1');
  } else if (command === 'close') {
    close();
    emit('closed', {kind: 'CLOSED', error: ''});
  } else if (command === 'reconnect') {
    close();
    connect();
  } else if (command === 'exit') {
    close();
    process.exit(0);
  }
}).on('close', () => {
  close();
  process.exit(0);
});

connect();
