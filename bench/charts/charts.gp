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
set output '../bench/charts/idle.png'
set title 'Server RSS per idle session (KB, lower is better)'
set ylabel 'KB per session'
plot for [i=2:5] '../bench/charts/idle.dat' using i:xtic(1) title word('ours igm node gorilla',i-1), for [i=2:5] '../bench/charts/idle.dat' using ($0+(i-3.5)*0.2):i:(sprintf('%.1f',column(i))) with labels offset 0,0.7 font ',9' notitle
