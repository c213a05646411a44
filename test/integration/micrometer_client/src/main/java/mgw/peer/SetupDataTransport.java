// A ClientTransport decorator that puts given bytes in the data of the SETUP frame the connector
// sends. prometheus-rsocket-client 1.5.3 builds its RSocketConnector itself and exposes no
// setupPayload, but it takes any ClientTransport: this is how an app proves which app it is over
// TCP ({"access_key":"..."}, the key the service broker issued for its binding) with the client
// unchanged.
package mgw.peer;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.rsocket.DuplexConnection;
import io.rsocket.RSocketErrorException;
import io.rsocket.frame.FrameHeaderCodec;
import io.rsocket.frame.FrameType;
import io.rsocket.frame.SetupFrameCodec;
import io.rsocket.transport.ClientTransport;
import io.rsocket.util.DefaultPayload;
import java.net.SocketAddress;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

final class SetupDataTransport implements ClientTransport {
    private final ClientTransport delegate;
    private final byte[] setupData;

    SetupDataTransport(ClientTransport delegate, byte[] setupData) {
        this.delegate = delegate;
        this.setupData = setupData.clone();
    }

    @Override
    public Mono<DuplexConnection> connect() {
        return delegate.connect().map(Connection::new);
    }

    @Override
    public int maxFrameLength() {
        return delegate.maxFrameLength();
    }

    private final class Connection implements DuplexConnection {
        private final DuplexConnection inner;

        Connection(DuplexConnection inner) {
            this.inner = inner;
        }

        @Override
        public void sendFrame(int streamId, ByteBuf frame) {
            if (streamId != 0 || FrameHeaderCodec.frameType(frame) != FrameType.SETUP) {
                inner.sendFrame(streamId, frame);
                return;
            }
            // The same SETUP (version, keepalive, lifetime, MIME types, lease flag) with our data;
            // the connector sets no resume token and no setup metadata.
            ByteBuf replaced = SetupFrameCodec.encode(inner.alloc(),
                    SetupFrameCodec.honorLease(frame),
                    SetupFrameCodec.keepAliveInterval(frame),
                    SetupFrameCodec.keepAliveMaxLifetime(frame),
                    SetupFrameCodec.metadataMimeType(frame),
                    SetupFrameCodec.dataMimeType(frame),
                    DefaultPayload.create(setupData));
            frame.release();
            inner.sendFrame(0, replaced);
        }

        @Override
        public void sendErrorAndClose(RSocketErrorException e) {
            inner.sendErrorAndClose(e);
        }

        @Override
        public Flux<ByteBuf> receive() {
            return inner.receive();
        }

        @Override
        public ByteBufAllocator alloc() {
            return inner.alloc();
        }

        @Override
        public SocketAddress remoteAddress() {
            return inner.remoteAddress();
        }

        @Override
        public double availability() {
            return inner.availability();
        }

        @Override
        public Mono<Void> onClose() {
            return inner.onClose();
        }

        @Override
        public void dispose() {
            inner.dispose();
        }

        @Override
        public boolean isDisposed() {
            return inner.isDisposed();
        }
    }
}
