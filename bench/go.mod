module github.com/go-sockjs/sockjs/bench

go 1.25.0

require (
	github.com/go-sockjs/sockjs v0.0.0
	github.com/gorilla/websocket v1.5.3
	github.com/igm/sockjs-go/v3 v3.0.3
)

replace github.com/go-sockjs/sockjs => ../
