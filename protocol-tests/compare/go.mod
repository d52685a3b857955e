module github.com/go-sockjs/sockjs/protocol-tests/compare

go 1.25.0

require github.com/igm/sockjs-go/v3 v3.0.3

require github.com/gorilla/websocket v1.4.2 // indirect
