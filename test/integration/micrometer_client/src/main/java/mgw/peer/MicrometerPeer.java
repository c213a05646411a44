// A test peer for metrics-gateway's RSocket proxy: an app using Micrometer's own
// prometheus-rsocket-client, unchanged, the way its README shows, so that the integration tests
// meet the real client rather than a re-implementation of it.
//
//   java -jar micrometer-rsocket-peer.jar --transport tcp|websocket --host H --port P
//        [--name APP] [--registries N] [--access-key KEY] [--push-after SECONDS]
//
// --registries N: N PrometheusMeterRegistry instances with the same meters, served as the README's
//   topLevelRegistry.scrape() + "\n" + comp1Registry.scrape() + ... concatenation.
// --access-key: the identity proof. Over WebSocket the upgrade carries
//   "Authorization: Bearer KEY"; over TCP the SETUP frame's data is {"access_key":"KEY"}.
// --push-after: pushAndCloseBlockingly() that many seconds after the first key came (the client
//   pushes nothing before it has a key), then exit.
//
// Prints one JSON line per event on stdout: started, key (a key received from the proxy), pushed,
// closed. Reads commands on stdin: "push" (pushAndCloseBlockingly, then exit), "close" (close
// without pushing, then exit). End of stdin closes too.
package mgw.peer;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheus.PrometheusConfig;
import io.micrometer.prometheus.PrometheusMeterRegistry;
import io.micrometer.prometheus.rsocket.PrometheusRSocketClient;
import io.rsocket.transport.ClientTransport;
import io.rsocket.transport.netty.client.TcpClientTransport;
import io.rsocket.transport.netty.client.WebsocketClientTransport;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import java.util.stream.Collectors;

public final class MicrometerPeer {
    private MicrometerPeer() {}

    public static void main(String[] args) throws Exception {
        Map<String, String> options = parse(args);
        String transportName = options.getOrDefault("transport", "tcp");
        String host = options.getOrDefault("host", "127.0.0.1");
        int port = Integer.parseInt(required(options, "port"));
        String name = options.getOrDefault("name", "micrometer-app");
        int registryCount = Integer.parseInt(options.getOrDefault("registries", "1"));
        String accessKey = options.get("access-key");

        List<PrometheusMeterRegistry> registries = new ArrayList<>();
        for (int i = 0; i < registryCount; i++) {
            PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
            registerMeters(registry, name, i == 0 ? "top" : "comp" + i);
            registries.add(registry);
        }
        Supplier<String> scrape = () -> registries.stream()
                .map(PrometheusMeterRegistry::scrape)
                .collect(Collectors.joining("\n"));

        ClientTransport transport;
        if (transportName.equals("websocket")) {
            WebsocketClientTransport websocket =
                    WebsocketClientTransport.create(URI.create("ws://" + host + ":" + port + "/"));
            if (accessKey != null) {
                websocket = websocket.header("Authorization", "Bearer " + accessKey);
            }
            transport = websocket;
        } else if (transportName.equals("tcp")) {
            transport = TcpClientTransport.create(host, port);
            if (accessKey != null) {
                transport = new SetupDataTransport(transport,
                        ("{\"access_key\":\"" + jsonEscape(accessKey) + "\"}")
                                .getBytes(StandardCharsets.UTF_8));
            }
        } else {
            throw new IllegalArgumentException("--transport must be tcp or websocket");
        }

        AtomicBoolean done = new AtomicBoolean();
        AtomicBoolean keyed = new AtomicBoolean();
        AtomicReference<PrometheusRSocketClient> connected = new AtomicReference<>();
        ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(runnable -> {
            Thread thread = new Thread(runnable, "push-after");
            thread.setDaemon(true);
            return thread;
        });
        long pushAfterMillis = options.containsKey("push-after")
                ? (long) (Double.parseDouble(options.get("push-after")) * 1000)
                : -1;
        PrometheusRSocketClient client = PrometheusRSocketClient
                .build(registries.get(0), scrape, transport)
                .doOnKeyReceived(() -> {
                    emit("key");
                    if (pushAfterMillis >= 0 && !keyed.getAndSet(true)) {
                        timer.schedule(() -> finish(awaitSet(connected), true, done),
                                pushAfterMillis, TimeUnit.MILLISECONDS);
                    }
                })
                .connect();
        connected.set(client);
        emit("started");

        BufferedReader stdin =
                new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while (!done.get() && (line = stdin.readLine()) != null) {
            switch (line.trim()) {
                case "push" -> finish(client, true, done);
                case "close" -> finish(client, false, done);
                default -> emit("unknown-command");
            }
        }
        finish(client, false, done);
    }

    private static synchronized void finish(PrometheusRSocketClient client, boolean push,
                                            AtomicBoolean done) {
        if (done.getAndSet(true)) {
            return;
        }
        if (push) {
            client.pushAndCloseBlockingly(Duration.ofSeconds(10));
            emit("pushed");
        } else {
            client.close();
        }
        emit("closed");
        System.exit(0);
    }

    // connect() returns at once, but a key can come before its result is stored.
    private static <T> T awaitSet(AtomicReference<T> reference) {
        T value;
        while ((value = reference.get()) == null) {
            Thread.onSpinWait();
        }
        return value;
    }

    // A counter, a timer, a distribution summary and a gauge, as an instrumented app has them:
    // timers and summaries give the `_max` gauges whose HELP is empty in Micrometer's text.
    private static void registerMeters(PrometheusMeterRegistry registry, String app,
                                       String component) {
        Tags tags = Tags.of("app", app, "registry", component);
        Counter requests = Counter.builder("demo.requests").description("Requests handled.")
                .tags(tags).register(registry);
        requests.increment(3);
        Timer timer = Timer.builder("http.server.requests").tags(tags).tag("uri", "/hello")
                .register(registry);
        timer.record(Duration.ofMillis(250));
        timer.record(Duration.ofMillis(750));
        DistributionSummary payload = DistributionSummary.builder("demo.payload")
                .baseUnit("bytes").tags(tags).register(registry);
        payload.record(100);
        payload.record(300);
        Gauge.builder("demo.queue.size", () -> 7).tags(tags).register(registry);
    }

    private static Map<String, String> parse(String[] args) {
        Map<String, String> options = new HashMap<>();
        for (int i = 0; i < args.length; i += 2) {
            if (!args[i].startsWith("--") || i + 1 >= args.length) {
                throw new IllegalArgumentException("expected --name value pairs, got " + args[i]);
            }
            options.put(args[i].substring(2), args[i + 1]);
        }
        return options;
    }

    private static String required(Map<String, String> options, String key) {
        String value = options.get(key);
        if (value == null) {
            throw new IllegalArgumentException("--" + key + " is required");
        }
        return value;
    }

    private static String jsonEscape(String s) {
        StringBuilder out = new StringBuilder();
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') {
                out.append('\\').append(c);
            } else if (c < 0x20) {
                out.append(String.format("\\u%04x", (int) c));
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }

    static synchronized void emit(String event) {
        System.out.println("{\"event\":\"" + event + "\"}");
        System.out.flush();
    }
}
