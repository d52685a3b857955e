set terminal pngcairo size 900,480 font 'DejaVu Sans,11'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set key outside right top
set offsets 0,0,graph 0.08,0
set datafile missing '?'
set yrange [0:*]
set xtics noenhanced
set key noenhanced
set xrange [-0.6:*]
set output '../bench/charts/websocket.png'
set title "SockJS websocket: throughput relative to igm/sockjs-go (= 1), median of 5 rounds, C=10" noenhanced
set ylabel 'ratio'
plot for [i=2:5] '../bench/charts/websocket.dat' using i:xtic(1) title word('ours igm node gorilla',i-1), for [i=2:5] '../bench/charts/websocket.dat' using ($0+(i-3.5)*0.2):i:(sprintf('%.2f',column(i))) with labels offset 0,0.7 font ',9' notitle
set output '../bench/charts/websocket-raw.png'
set title "raw websocket: throughput relative to igm/sockjs-go (= 1), median of 5 rounds, C=10" noenhanced
set ylabel 'ratio'
plot for [i=2:5] '../bench/charts/websocket-raw.dat' using i:xtic(1) title word('ours igm node gorilla',i-1), for [i=2:5] '../bench/charts/websocket-raw.dat' using ($0+(i-3.5)*0.2):i:(sprintf('%.2f',column(i))) with labels offset 0,0.7 font ',9' notitle
set output '../bench/charts/xhr-streaming.png'
set title "xhr-streaming: throughput relative to igm/sockjs-go (= 1), median of 5 rounds, C=10" noenhanced
set ylabel 'ratio'
plot for [i=2:5] '../bench/charts/xhr-streaming.dat' using i:xtic(1) title word('ours igm node gorilla',i-1), for [i=2:5] '../bench/charts/xhr-streaming.dat' using ($0+(i-3.5)*0.2):i:(sprintf('%.2f',column(i))) with labels offset 0,0.7 font ',9' notitle
set output '../bench/charts/xhr-polling.png'
set title "xhr-polling: throughput relative to igm/sockjs-go (= 1), median of 5 rounds, C=10" noenhanced
set ylabel 'ratio'
plot for [i=2:5] '../bench/charts/xhr-polling.dat' using i:xtic(1) title word('ours igm node gorilla',i-1), for [i=2:5] '../bench/charts/xhr-polling.dat' using ($0+(i-3.5)*0.2):i:(sprintf('%.2f',column(i))) with labels offset 0,0.7 font ',9' notitle
set output '../bench/charts/eventsource.png'
set title "eventsource: throughput relative to igm/sockjs-go (= 1), median of 5 rounds, C=10" noenhanced
set ylabel 'ratio'
plot for [i=2:5] '../bench/charts/eventsource.dat' using i:xtic(1) title word('ours igm node gorilla',i-1), for [i=2:5] '../bench/charts/eventsource.dat' using ($0+(i-3.5)*0.2):i:(sprintf('%.2f',column(i))) with labels offset 0,0.7 font ',9' notitle
set output '../bench/charts/idle.png'
set title 'Server RSS per idle session (KB, lower is better)'
set ylabel 'KB per session'
plot for [i=2:5] '../bench/charts/idle.dat' using i:xtic(1) title word('ours igm node gorilla',i-1), for [i=2:5] '../bench/charts/idle.dat' using ($0+(i-3.5)*0.2):i:(sprintf('%.1f',column(i))) with labels offset 0,0.7 font ',9' notitle
unset style
unset offsets
set xrange [*:*]
set style data linespoints
set output '../bench/charts/scale.png'
set title 'go-sockjs: server RSS per idle websocket session vs sessions open'
set xlabel 'sessions'
set ylabel 'KB per session'
set logscale x
set xrange [700:30000]
set yrange [0:*]
unset xtics
set xtics
plot '../bench/charts/scale.dat' using 1:2 with linespoints lw 2 pt 7 title 'ours', '' using 1:2:(sprintf('%.1f',$2)) with labels offset 0,1 notitle
