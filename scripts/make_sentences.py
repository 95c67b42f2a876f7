#!/usr/bin/env python3
"""Writes the 600 varied sentences qkv's reduced-precision accuracy is measured on.

    python3 scripts/make_sentences.py > crates/encoder/tests/fixtures/precision/sentences_600.json

Deterministic (a seeded `random.Random`, no network): hand-written sentences in several
groups (everyday English, questions, science and tech, code, numbers and units, ten other
languages, punctuation and emoji, one-word inputs, paraphrase pairs) plus templated ones and
long paragraphs made by joining sentences (some past MiniLM's 256-token limit). Standard
library only.
"""
import json
import random
import sys

EVERYDAY = """\
The train to Edinburgh was delayed by forty minutes because of a signal failure.
She planted tomatoes along the south wall of the garden where the sun lingers longest.
My grandmother still writes letters by hand and posts them every Monday.
The children built a snowman with a carrot nose and two buttons for eyes.
He forgot his umbrella at the cafe and walked home in the pouring rain.
The museum reopened after a two-year renovation of its medieval wing.
A stray cat has been sleeping on our porch for a week now.
The recipe calls for two cups of flour, a pinch of salt and three eggs.
We watched the sunset from the top of the hill while the city lights came on.
The library extended its opening hours during the exam period.
Our neighbours are renovating their kitchen and the drilling starts at seven.
The orchestra tuned their instruments while the audience found their seats.
A small fishing boat drifted toward the harbour at dawn.
The bakery on the corner sells out of croissants before nine every morning.
After the storm, fallen branches covered the road to the village.
The new bridge will cut the commute across the river by fifteen minutes.
The toddler refused to eat anything that was green.
He practises the piano for an hour every evening after dinner.
The hikers reached the summit just before the clouds rolled in.
The store offered a discount on winter coats at the end of February.
The meeting was postponed because half the team had the flu.
Volunteers cleaned up the beach and collected twelve bags of plastic.
The old lighthouse is now a small hotel with four rooms.
Her dog learned to open the fridge door by pulling on a towel.
The farmers' market moves indoors from November to March.
They painted the nursery a pale shade of yellow.
The bus driver waited for the old man to sit down before pulling away.
I left the keys on the kitchen table next to the fruit bowl.
The festival attracted more than twenty thousand visitors this year.
A leak in the roof dripped into a bucket all night.
The teacher asked the students to write a poem about autumn.
Traffic was light on the motorway because of the holiday.
The soup needs more pepper and a squeeze of lemon.
My phone battery dies before lunch if I use the map all morning.
The football match ended in a goalless draw after extra time.
She knitted a scarf for each of her five grandchildren.
The shop assistant helped me find a shirt in my size.
Workers repaired the water main overnight so the street could reopen.
The kitten chased a moth around the living room for an hour.
We missed the last ferry and had to stay on the island overnight.
The apartment has high ceilings and a view of the park.
The choir rehearses in the church hall on Thursday evenings.
A hot-air balloon floated silently over the vineyards.
He spilled coffee on his laptop right before the presentation.
The garden centre sells seeds, compost and terracotta pots.
The twins finished each other's sentences all through dinner.
Snow closed the mountain pass for three days.
The wedding reception was held in a barn decorated with fairy lights.
They adopted two rescue dogs from the shelter last spring.
The postman delivers the mail around eleven o'clock.
The cake collapsed in the middle because the oven door was opened too early.
The village pub serves a roast dinner every Sunday.
We rented bicycles and rode along the canal for the afternoon.
The tennis club is looking for new members of all ages.
The night sky was so clear we could see the Milky Way.
He repainted the fence and fixed the broken gate.
The pharmacy closes at six, so pick up the prescription before then.
A flock of geese flew south in a long V shape.
The students protested against the rise in tuition fees.
The picnic was ruined by a sudden swarm of wasps.
The kettle whistled and she poured water over the tea leaves.
The car would not start on the coldest morning of the year.
The cinema shows classic films on the first Friday of the month.
Our flight landed early thanks to a strong tail wind.
The lawn needs mowing again after all that rain.
The baby laughed every time the dog sneezed.
The town council approved a new cycle lane on the high street.
The jazz band played until well past midnight.
My brother moved to Canada to work as a nurse.
The strawberries this summer were small but very sweet.
""".strip().split("\n")

QUESTIONS = """\
How do I reset my password if I no longer have access to my email?
What is the best way to store fresh basil?
Why does the sky look red at sunset?
Where can I find the nearest charging station for an electric car?
How long should I boil an egg for a runny yolk?
Is it safe to swim in the lake after heavy rain?
What time does the museum close on Sundays?
Can dogs eat grapes?
How many calories are in a banana?
What is the difference between a virus and a bacterium?
Which countries border Switzerland?
How do you say thank you in Japanese?
When was the printing press invented?
What causes the northern lights?
Should I water succulents every day?
How far is the moon from the earth?
Why do cats purr?
What is the capital of Australia?
How do vaccines train the immune system?
Who wrote Pride and Prejudice?
What are the symptoms of dehydration?
How can I improve my sleep?
Is coffee bad for your heart?
What does a mortgage broker do?
How do solar panels work on cloudy days?
Can I bring liquids in my hand luggage?
How do I remove a red wine stain from a carpet?
What is the tallest mountain in Africa?
Why is the ocean salty?
How does compound interest work?
best pizza near me open late
cheap flights london to lisbon in may
symptoms of vitamin d deficiency
how to fix a leaking tap
python list comprehension example
weather tomorrow in berlin
how to tie a tie step by step
is the pharmacy open on bank holidays
convert 30 celsius to fahrenheit
translate good morning to spanish
""".strip().split("\n")

SCIENCE = """\
Photosynthesis converts light energy into chemical energy stored in glucose.
The mitochondria produce most of the cell's supply of adenosine triphosphate.
A black hole's event horizon is the boundary beyond which nothing can escape.
Plate tectonics explains the distribution of earthquakes and volcanoes.
DNA is a double helix of two complementary strands held together by hydrogen bonds.
Entropy in an isolated system never decreases over time.
The speed of light in a vacuum is exactly 299,792,458 metres per second.
Antibiotics are ineffective against viral infections such as the common cold.
The transformer architecture relies on self-attention rather than recurrence.
Gradient descent updates the parameters in the direction of the negative gradient.
Quantization reduces the precision of weights to speed up neural network inference.
A hash table offers average constant-time lookups at the cost of extra memory.
The Krebs cycle takes place in the matrix of the mitochondrion.
Neurons communicate through electrical impulses and chemical synapses.
Climate models project a rise in global mean temperature this century.
The compiler reported an undefined reference during the linking stage.
Garbage collection frees memory that the program can no longer reach.
The database uses a B-tree index to speed up range queries.
A convolutional layer slides small filters across the input image.
Batch normalization rescales activations to zero mean and unit variance.
The Higgs boson was observed at the Large Hadron Collider in 2012.
Coral reefs are threatened by ocean acidification and warming waters.
An enzyme lowers the activation energy of a chemical reaction.
The TCP handshake exchanges SYN, SYN-ACK and ACK packets.
Memory-mapped files let the kernel page data in on demand.
The stock market fell sharply after the central bank raised interest rates.
Inflation eroded the purchasing power of household savings.
The court ruled that the contract was void because it was signed under duress.
The senate passed the bill by a narrow margin of fifty-one to forty-nine.
The company reported record quarterly revenue driven by cloud services.
Vaccination campaigns eradicated smallpox by 1980.
The patient was prescribed 500 mg of amoxicillin three times a day.
Magnetic resonance imaging uses strong magnetic fields and radio waves.
Rising sea levels threaten low-lying coastal cities.
The rover collected rock samples from the floor of the crater.
Cosine similarity measures the angle between two vectors.
Attention weights are computed with a softmax over scaled dot products.
A race condition occurs when the outcome depends on the timing of threads.
SIMD instructions apply one operation to several data elements at once.
The kernel scheduler balances runnable threads across CPU cores.
""".strip().split("\n")

CODE = r"""
def add(a, b):\n    return a + b
for i in range(10): print(i ** 2)
fn main() { println!("Hello, world!"); }
let v: Vec<u32> = (0..10).map(|x| x * x).collect();
SELECT name, COUNT(*) FROM users GROUP BY name HAVING COUNT(*) > 1;
UPDATE accounts SET balance = balance - 100 WHERE id = 42;
git commit -m "fix: handle empty input" && git push origin main
docker run --rm -it -v $(pwd):/src ubuntu:24.04 bash
const sum = arr.reduce((acc, x) => acc + x, 0);
if (x == null) { throw new Error('x is required'); }
#include <stdio.h>\nint main(void) { return 0; }
import numpy as np; a = np.zeros((3, 4), dtype=np.float32)
curl -s https://api.example.com/v1/items?limit=10 | jq '.items[0]'
public static void main(String[] args) { System.out.println(args.length); }
kubectl get pods -n production --field-selector=status.phase=Running
x = [y for y in data if y is not None and y > 0]
CREATE TABLE orders (id SERIAL PRIMARY KEY, total NUMERIC(10,2) NOT NULL);
<div class="card"><h2>Title</h2><p>Body text</p></div>
{"name": "qkv", "version": "0.1.0", "license": "MIT"}
while read -r line; do echo "${line^^}"; done < input.txt
match opt { Some(v) => v, None => return Err(Error::Missing) }
async function load(url) { const r = await fetch(url); return r.json(); }
grep -rn "TODO" src/ | wc -l
model.fit(X_train, y_train, epochs=10, batch_size=32)
std::vector<int> v{1, 2, 3}; std::sort(v.begin(), v.end());
SELECT * FROM logs WHERE created_at > NOW() - INTERVAL '1 day' ORDER BY id DESC;
print(f"{name!r} has {len(items)} items")
try:\n    risky()\nexcept ValueError as e:\n    log.warning(e)
export PATH="$HOME/.cargo/bin:$PATH"
assert_eq!(parse("3+4"), Ok(7));
""".strip().split("\n")

NUMBERS = """\
The invoice total is $1,249.99 including 20% VAT.
Meet me at 14:30 on 2024-03-15 at gate B12.
The population grew from 8.2 million in 1990 to 11.7 million in 2020.
Set the oven to 180 °C (356 °F) and bake for 35–40 minutes.
The marathon distance is 42.195 km, or about 26.2 miles.
Flight LH 2041 departs at 06:55 and arrives at 09:10 local time.
The parcel weighs 2.5 kg and measures 40 × 30 × 15 cm.
Interest rates rose by 0.25 percentage points to 5.5%.
Call +44 20 7946 0958 between 9am and 5pm, Monday to Friday.
The chip runs at 3.7 GHz with 32 MB of L3 cache and a 105 W TDP.
Pi is approximately 3.14159265358979 and e is about 2.71828.
Room 404 is on the 4th floor; room 1201 is on the 12th.
The score was 3-1 at half time and 4-2 at the final whistle.
Add 1/2 tsp of salt and 3/4 cup of sugar.
Order #A-77381-Z shipped on 03/04/2025 via tracking number 1Z999AA10123456784.
The earthquake measured 6.8 on the Richter scale.
Version 2.14.3 fixes CVE-2024-12345 and two minor bugs.
Temperature: -12 °C, wind 35 km/h NNW, humidity 81%.
About 71% of the Earth's surface is covered by water.
The loan of €250,000 over 25 years costs €1,318 per month at 4.1%.
1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144
The matrix is 384 × 1536 and holds 589,824 parameters.
Latitude 48.8584° N, longitude 2.2945° E.
He ran 100 m in 9.58 s, a world record set in 2009.
The meeting room holds 12 people; 15 signed up.
Q3 revenue: 4.2B USD (+17% YoY), operating margin 31.5%.
The recipe serves 4–6 and takes 1 h 15 min.
Only 3 of the 250 samples tested positive (1.2%).
2 + 2 = 4, 7 × 8 = 56, and 144 / 12 = 12.
The 737 MAX 8 seats 162 to 178 passengers in two classes.
""".strip().split("\n")

LANGUAGES = """\
Le chat dort sur le canapé depuis ce matin.
Nous irons à la plage si le temps le permet demain.
La réunion a été reportée à la semaine prochaine.
Pouvez-vous m'indiquer le chemin de la gare, s'il vous plaît ?
Les enfants jouent dans le jardin après l'école.
Der Zug nach München hat zwanzig Minuten Verspätung.
Ich habe meinen Schlüssel im Büro vergessen.
Das Wetter ist heute sonnig und warm.
Wie viel kostet eine Fahrkarte nach Hamburg?
Die Kinder bauen eine Sandburg am Strand.
El tren llega a Madrid a las ocho de la tarde.
Me gustaría reservar una mesa para dos personas.
Los niños juegan al fútbol en el parque.
¿Dónde está la biblioteca más cercana?
Mañana lloverá en toda la costa norte.
Il treno per Roma parte dal binario tre.
Vorrei un caffè e un cornetto, per favore.
La pizza napoletana è famosa in tutto il mondo.
Domani andiamo al mare con gli amici.
O comboio para o Porto está atrasado.
Gostaria de pagar com cartão de crédito.
As crianças brincam na praia durante o verão.
Москва — столица России и крупнейший город страны.
Я люблю читать книги по вечерам.
Завтра будет холодно и пойдёт снег.
Где находится ближайшая станция метро?
北京是中国的首都。
我今天早上喝了一杯咖啡。
这本书非常有意思，我推荐给你。
明天会下雨吗？
東京駅で友達に会いました。
この料理はとても美味しいです。
明日は雨が降るでしょう。
서울은 한국의 수도입니다.
오늘 날씨가 정말 좋네요.
القاهرة هي عاصمة مصر.
أحب قراءة الكتب في المساء.
दिल्ली भारत की राजधानी है।
मुझे चाय पीना पसंद है।
Η Αθήνα είναι η πρωτεύουσα της Ελλάδας.
Stockholm är Sveriges huvudstad.
Amsterdam is de hoofdstad van Nederland.
Warszawa jest stolicą Polski.
İstanbul, Türkiye'nin en kalabalık şehridir.
Hà Nội là thủ đô của Việt Nam.
""".strip().split("\n")

ODD = r"""
Wait... what?!?!
!!!
???
...
OMG 😂😂😂 that was hilarious!!! 🎉🎉
I ❤️ NY 🗽
→ ← ↑ ↓ ⇒ ⇔ ∀ ∃ ∈ ∉
<<<>>> {{{}}} [[[]]] (((())))
#hashtag #another_one @someone
https://www.example.com/a/b/c?x=1&y=2#frag
mailto:support@example.org
C:\Users\admin\Documents\report_final_v2 (1).docx
/usr/local/bin/python3 -m venv .venv
ALL CAPS SENTENCE WITH NO PUNCTUATION
all lower case sentence with no punctuation at all
tHiS iS a StRaNgElY cAsEd SeNtEnCe
"Quoted," she said, "and 'nested' quotes."
A sentence—with em dashes—and en dashes – too.
Ellipsis… and non-breaking spaces and ‘curly’ “quotes”.
Ｆｕｌｌｗｉｄｔｈ ｔｅｘｔ ａｎｄ ｎｕｍｂｅｒｓ １２３
ÀÉÎÕÜ àéîõü ÇçÑñ ßẞ ÆæØøÅå
tab\tseparated\tvalues\there
line one\nline two\nline three
repeated repeated repeated repeated repeated repeated
a b c d e f g h i j k l m n o p q r s t u v w x y z
""".strip().split("\n")

SHORT = """\
hello
yes
no
thanks
cat
dogs
Paris
coffee
rain
love
error
42
2024
OK
help
sunrise
bank
river bank
savings bank
apple
Apple Inc.
python
the
a
good night
""".strip().split("\n")

PARAPHRASES = """\
The meeting has been moved to Thursday afternoon.|We rescheduled the meeting for Thursday after lunch.
The cat is sleeping on the sofa.|A kitten naps on the couch.
It will probably rain tomorrow.|Tomorrow is likely to be rainy.
The company laid off two hundred workers.|Two hundred employees lost their jobs at the firm.
She is learning to play the guitar.|She has started taking guitar lessons.
The restaurant was fully booked.|There were no free tables at the restaurant.
He drove to work because the trains were on strike.|With the rail strike on, he took the car to the office.
The price of petrol went up again.|Fuel has become more expensive once more.
The film was too long and quite boring.|The movie dragged on and was dull.
My laptop keeps overheating.|The notebook computer gets too hot all the time.
The baby finally fell asleep.|At last the infant dozed off.
They won the championship last year.|Last season they took the title.
The bridge is closed for repairs.|Repair work has shut the bridge.
I can't find my glasses anywhere.|My spectacles have gone missing.
The soup is too salty.|There is too much salt in the soup.
The hotel room was clean and quiet.|Our room at the hotel was tidy and peaceful.
The exam was harder than expected.|The test turned out to be more difficult than we thought.
The shop opens at nine.|Opening time for the store is 9 a.m.
He apologised for being late.|He said sorry for arriving late.
The river burst its banks after the storm.|The storm made the river flood.
""".strip().split("\n")

NEWS = """\
The government announced a new plan to build three hundred thousand homes by 2030.
Firefighters battled the wildfire for four days before it was brought under control.
The central bank left interest rates unchanged for the third consecutive month.
Thousands of commuters were stranded when the metro system shut down.
The striking dock workers reached an agreement with the port authority.
Scientists discovered a new species of frog in the cloud forests of Ecuador.
The prime minister reshuffled the cabinet after a string of resignations.
Heavy snowfall caused the cancellation of hundreds of flights at the airport.
The city will ban diesel cars from its centre starting next January.
A cyberattack disrupted the hospital's booking system for two days.
The national team qualified for the World Cup for the first time in decades.
Unemployment fell to its lowest level since records began.
The merger between the two airlines was blocked by regulators.
Archaeologists uncovered a Roman mosaic beneath a supermarket car park.
The drought has forced farmers to sell off part of their herds.
Protesters gathered outside parliament to demand action on housing costs.
The famous painting sold at auction for a record price.
A magnitude 5.9 earthquake shook the coastal region early on Tuesday.
The electric carmaker recalled forty thousand vehicles over a braking fault.
The school district will provide free breakfast to all pupils.
The space agency postponed the launch because of high winds.
Voter turnout reached seventy-two percent in the regional elections.
The tech giant was fined for breaching data protection rules.
Floodwaters forced the evacuation of two riverside villages.
The museum returned the stolen artefacts to their country of origin.
Researchers reported promising results from an early trial of the malaria vaccine.
The chancellor unveiled tax cuts for small businesses in the budget.
Wildlife officials relocated a family of bears that wandered into town.
The streaming service raised its monthly subscription price.
A new high-speed rail line will connect the two largest cities.
""".strip().split("\n")

REVIEWS = """\
Absolutely loved this blender, it crushes ice in seconds.
The battery life is terrible and the screen scratches easily.
Great value for money, would definitely buy again.
The hotel staff were rude and the breakfast was cold.
Five stars: fast delivery and the item was exactly as described.
The plot was predictable but the acting saved the film.
Not worth the hype, the sequel is much better.
Comfortable shoes, though they run half a size small.
The app crashes every time I try to upload a photo.
Best ramen I've had outside of Japan, the broth is incredible.
The instructions were confusing and two screws were missing.
Lovely quiet campsite with clean showers and friendly owners.
The headphones sound great but the noise cancelling is weak.
Service was slow, but the desserts made up for it.
This novel kept me up until three in the morning.
Disappointing: the colour faded after one wash.
The tour guide was knowledgeable and funny.
Overpriced for what you get, the portions were tiny.
The vacuum cleaner is powerful and surprisingly quiet.
I returned it after a week because it stopped charging.
""".strip().split("\n")

DIALOG = """\
hey, are you coming tonight?
lol no way, that's hilarious
can u send me the file pls
I'll be there in 5 mins
sorry, running late, start without me
did you feed the cat?
brb, someone's at the door
thx so much!! you're a lifesaver
what do you want for dinner?
ok sounds good, see you at 8
not sure yet, I'll let you know tomorrow
happy birthday!!! 🎂🎈
where did you park the car?
call me when you land
that's the third time this week the wifi died
""".strip().split("\n")

SUBJECTS = ["The engineer", "A tourist", "My neighbour", "The committee", "Our teacher",
            "The old fisherman", "A young doctor", "The startup", "The orchestra", "The goalkeeper",
            "The city council", "A curious child", "The night nurse", "The pilot", "The librarian"]
VERBS = ["repaired", "photographed", "ignored", "praised", "criticised", "sold", "painted",
         "measured", "cancelled", "designed", "delivered", "tested", "translated", "described",
         "rebuilt"]
OBJECTS = ["the broken clock", "a bridge over the river", "the quarterly budget",
           "an ancient manuscript", "the new vaccine", "a wooden boat", "the school garden",
           "the server cluster", "a vintage motorbike", "the harbour wall", "the concert hall",
           "a prototype drone", "the village well", "the ski lift", "a forgotten mural"]
WHEN = ["yesterday", "last winter", "in 1987", "before dawn", "during the storm",
        "after the election", "on a quiet Sunday", "at short notice", "for the third time",
        "within a week"]


def templated(rng, n):
    out = set()
    while len(out) < n:
        s = f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} {rng.choice(WHEN)}."
        out.add(s)
    return sorted(out)


def paragraphs(rng, pool, n, lo, hi):
    out = []
    for _ in range(n):
        k = rng.randint(lo, hi)
        out.append(" ".join(rng.sample(pool, k)))
    return out


def main():
    rng = random.Random(20250613)
    sentences = []
    sentences += EVERYDAY + QUESTIONS + SCIENCE
    sentences += [c.replace("\\n", "\n") for c in CODE]
    sentences += NUMBERS + LANGUAGES + NEWS + REVIEWS + DIALOG
    sentences += [o.replace("\\t", "\t").replace("\\n", "\n") for o in ODD]
    sentences += SHORT
    for p in PARAPHRASES:
        sentences += p.split("|")
    english = EVERYDAY + SCIENCE + NEWS
    # Paragraphs: short ones, and long ones cut at 256 tokens.
    sentences += paragraphs(rng, english, 40, 2, 4)
    sentences += paragraphs(rng, english, 25, 12, 20)
    sentences += paragraphs(rng, LANGUAGES, 15, 3, 6)
    sentences += paragraphs(rng, REVIEWS + DIALOG + QUESTIONS, 15, 2, 5)
    # Templated sentences fill the rest.
    need = 600 - len(sentences)
    sentences += templated(rng, need)
    assert len(sentences) == 600, len(sentences)
    assert len(set(sentences)) == 600, "duplicates"
    json.dump(sentences, sys.stdout, ensure_ascii=False, indent=0)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
