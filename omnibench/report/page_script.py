"""The page's one script: loads a task's sample files on demand, filters and pages the samples.

Allowed by its hash in the page's Content-Security-Policy, with 'strict-dynamic' so that the
sample files it inserts as <script src> may run (they only call omnibenchSamples(i, html) with a
JSON string); nothing else can run, so a missed escape in data still cannot execute. It never
evaluates data: sample HTML (escaped when written) goes into the page as markup.
"""

from __future__ import annotations

import base64
import hashlib

from omnibench.report.samples import PER_PAGE

SCRIPT = """(function(){
var $=function(id){return document.getElementById(id);};
var task=$('f-task'),model=$('f-model'),fail=$('f-fail'),q=$('f-q'),count=$('f-count'),box=$('samples'),page=0,per=%d;
if(!task||!box)return;
var groups=Array.prototype.map.call(document.querySelectorAll('#sample-index tr[data-src]'),function(tr){
var el=document.createElement('div');el.className='sg';box.appendChild(el);
return {i:tr.getAttribute('data-i'),task:tr.getAttribute('data-task'),model:tr.getAttribute('data-model'),
src:tr.getAttribute('data-src'),state:0,el:el};});
window.omnibenchSamples=function(i,html){groups.forEach(function(g){if(g.i===String(i)&&g.state!==2){
g.el.innerHTML=html;g.state=2;}});draw();};
function fromHash(){var h={};location.hash.replace(/^#/,'').split('&').forEach(function(kv){
var i=kv.indexOf('=');if(i>0){try{h[kv.slice(0,i)]=decodeURIComponent(kv.slice(i+1));}catch(err){}}});
task.value='task' in h?h.task:'';model.value='model' in h?h.model:'';fail.checked=h.failures==='1';
q.value='q' in h?h.q:'';page=parseInt(h.page||'1',10)-1||0;}
function wanted(){if(!task.value)return [];return groups.filter(function(g){
return (task.value==='*'||g.task===task.value)&&(!model.value||g.model===model.value);});}
function load(){wanted().forEach(function(g){if(g.state)return;g.state=1;var s=document.createElement('script');
s.src=g.src;s.onerror=function(){g.state=3;draw();};document.body.appendChild(s);});}
function keep(el){if(fail.checked&&el.getAttribute('data-outcome')==='pass')return false;
var s=q.value.trim().toLowerCase();return !s||el.textContent.toLowerCase().indexOf(s)>=0;}
function draw(){var want=wanted(),all=[];
groups.forEach(function(g){g.el.hidden=want.indexOf(g)<0;});
want.forEach(function(g){all=all.concat(Array.prototype.slice.call(g.el.querySelectorAll('.s')));});
var shown=all.filter(keep),pages=Math.max(1,Math.ceil(shown.length/per));
var loading=want.filter(function(g){return g.state===1;}).length,lost=want.filter(function(g){return g.state===3;});
if(!loading)page=Math.min(Math.max(page,0),pages-1);var p=Math.min(Math.max(page,0),pages-1);
all.forEach(function(el){el.hidden=true;});shown.slice(p*per,(p+1)*per).forEach(function(el){el.hidden=false;});
count.textContent=!task.value?'pick a task to load its samples':shown.length+' of '+all.length+' samples · page '+
(p+1)+' of '+pages+(loading?' · loading '+loading+' file(s)':'')+(lost.length?' · could not load '+
lost.map(function(g){return g.src;}).join(', ')+' (keep the samples folder beside this page)':'');}
function changed(){page=0;load();draw();}
[task,model,fail].forEach(function(x){x.addEventListener('change',changed);});q.addEventListener('input',changed);
$('f-prev').addEventListener('click',function(){page-=1;draw();});
$('f-next').addEventListener('click',function(){page+=1;draw();});
window.addEventListener('hashchange',function(){fromHash();load();draw();});
fromHash();load();draw();})();""" % PER_PAGE


def script_hash() -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(SCRIPT.encode("utf-8")).digest()).decode("ascii")
