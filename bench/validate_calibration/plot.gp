# plot.gp — validate-calibration.png for docs/VALIDATION.md from the .dat files
# analyze.py writes (run in that directory; see run.sh).
set terminal pngcairo size 1000,420 font ",9"
set output "validate-calibration.png"
set multiplot layout 1,2
set title "top-20 CE per token (1152 tokens per candidate)"
set xlabel "CE (nats)"; set ylabel "fraction of tokens"
set xrange [0:8.5]; set yrange [0:0.2]; set key top right
set arrow 1 from 3.046,0 to 3.046,0.2 nohead dt 2 lc rgb "black"
set label 1 "X = ln 20 + 0.05" at 3.1,0.19
set arrow 2 from 2.5,0 to 2.5,0.2 nohead dt 3 lc rgb "gray"
set label 2 "2.5 (driver)" at 1.2,0.19 tc rgb "gray"
plot "hist_self.dat" w steps lw 2 t "self = f16", "hist_q8_0.dat" w steps t "q8\\_0", "hist_q4_K_M.dat" w steps t "q4\\_K\\_M", "hist_q2_K.dat" w steps lw 2 t "q2\\_K", "hist_p0s4.dat" w steps t "layer 0 x(1±4u)", "hist_perturb2.dat" w steps lw 2 t "--perturb-layer 2"
unset arrow; unset label
set title "CE minus the reference's own CE (same token), CDF"
set xlabel "CE - H(reference top-20) (nats)"; set ylabel "fraction of tokens <= x"
set xrange [-0.6:2.5]; set yrange [0:1]; set key bottom right
set arrow 3 from 0.1,0 to 0.1,1 nohead dt 2
plot "dcdf_q8_0.dat" w l lw 2 t "q8\\_0", "dcdf_q4_K_M.dat" w l t "q4\\_K\\_M", "dcdf_q4_0.dat" w l t "q4\\_0", "dcdf_q3_K_M.dat" w l t "q3\\_K\\_M", "dcdf_q2_K.dat" w l lw 2 t "q2\\_K", "dcdf_p2s4.dat" w l t "layer 2 x(1±4u)", "dcdf_p0s4.dat" w l t "layer 0 x(1±4u)", "dcdf_perturb2.dat" w l lw 2 t "--perturb-layer 2"
unset multiplot
