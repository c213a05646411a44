// A BoshMetrics subscriber on @grpc/grpc-js (Node's http2, i.e. nghttp2 on the client side),
// loading the original .proto at run time with @grpc/proto-loader, for the integration tests.
//
//   node subscribe.js --port P --ca FILE --subscription ID [--token T] [--events N]
//                     [--timeout-ms MS]
//
// Prints one JSON line per event (int64 fields as strings: nanosecond timestamps exceed 2^53),
// then {"end": <status code>, "details": "..."} when the stream ends: after N events (the
// client cancels), at its deadline, or when the server ends it.
'use strict';

const path = require('path');
const fs = require('fs');
const grpc = require('@grpc/grpc-js');
const loader = require('@grpc/proto-loader');

const args = {};
for (let i = 2; i < process.argv.length; i += 2) {
    args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
}
const protoDir = path.join(__dirname, '..', '..', '..', 'proto', 'bosh-system-metrics-server');
const definition = loader.loadSync(path.join(protoDir, 'server.proto'), {
    keepCase: true, longs: String, enums: String, defaults: true, oneofs: true,
    includeDirs: [protoDir],
});
const Egress = grpc.loadPackageDefinition(definition).definitions.Egress;
const client = new Egress(`127.0.0.1:${args.port}`,
    grpc.credentials.createSsl(fs.readFileSync(args.ca)));

const metadata = new grpc.Metadata();
if (args.token !== undefined) {
    metadata.set('authorization', args.token);
}
const options = {};
if (args['timeout-ms']) {
    options.deadline = new Date(Date.now() + Number(args['timeout-ms']));
}
const wanted = args.events ? Number(args.events) : Infinity;
let received = 0;
const call = client.BoshMetrics({ subscription_id: args.subscription }, metadata, options);
call.on('data', (event) => {
    process.stdout.write(JSON.stringify(event) + '\n');
    received += 1;
    if (received >= wanted) {
        call.cancel();
    }
});
call.on('error', (error) => {
    process.stdout.write(JSON.stringify({ end: error.code, details: error.details }) + '\n');
});
call.on('status', (status) => {
    if (status.code === grpc.status.OK) {
        process.stdout.write(JSON.stringify({ end: 0, details: status.details }) + '\n');
    }
    client.close();
});
